package directory

import "testing"

// TestKeyedMutex: a key locked is granted to the next locker only after its
// unlock; another key is granted at once; unlocked keys leave no entry. (The
// "not granted yet" check can only miss a bug, never fail a correct lock.)
func TestKeyedMutex(t *testing.T) {
	var k keyedMutex
	unlockA := k.lock("uid=ann,ou=people")
	k.lock("uid=bob,ou=people")() // another key: granted at once
	got := make(chan func())
	go func() { got <- k.lock("uid=ann,ou=people") }()
	select {
	case <-got:
		t.Fatal("a locked key was granted twice")
	default:
	}
	unlockA()
	(<-got)()
	if len(k.m) != 0 {
		t.Fatalf("keys left after every unlock: %v", k.m)
	}
}

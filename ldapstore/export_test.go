package ldapstore

// FailbackChecks counts the failback checks s has finished (each looks at every
// server before the one in use).
func FailbackChecks(s *Store) uint64 { return s.failbackChecks.Load() }

// RawIdle counts the idle connections of Search's pool for the server at pos
// in the list (rawpool.go).
func RawIdle(s *Store, pos int) int {
	p := s.servers[pos].raw
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

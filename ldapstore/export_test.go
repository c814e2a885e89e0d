package ldapstore

// FailbackChecks counts the failback checks s has finished (each looks at every
// server before the one in use).
func FailbackChecks(s *Store) uint64 { return s.failbackChecks.Load() }

package ldapstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// A Store talks to one directory server at a time: the first of Config.URL's
// ordered list that answers. All of its work (reads and writes) goes there, so a
// client that writes and then reads sees its write even when the other servers
// are replicas that have not caught up yet.
//
// Failover: when the server in use cannot be reached (a dial or bind of one of
// its connections fails, the background healer included), the store probes the
// servers in list order and moves to the first that answers. A write whose link
// died mid-operation is not sent again (it may have been applied): its caller
// gets an unavailable error (503) and the next request goes to the new server.
//
// Failback: while it uses any server but the first, the store checks every
// Config.FailbackInterval whether a server earlier in the list answers again and
// has caught up, and moves back only then. Caught up means: the earlier server
// holds every entry this store wrote through the server in use (it logs their
// DNs meanwhile), each in the same or a newer version than the server in use
// holds: OpenLDAP's entryCSN, the change sequence number every write stamps on
// its entry and replication carries along, compared entry by entry (a deleted
// entry must be gone there too). The check runs once without holding anything
// back; when it passes, the store holds back new writes, waits for those in
// flight, checks the entries written since, giving replication up to ~0.6 s to
// bring them, and switches before it lets the writes go on. So every write this
// store acknowledged is on the earlier server before the first request goes
// there: an IdP's create-then-read keeps working across the switch.
//
// Why entries and not the servers' contextCSNs (one per serverID on each naming
// context, slapo-syncprov(5)): syncprov keeps the contextCSN in memory and
// writes it at checkpoints and at shutdown, so a provider that crashed comes
// back with its own serverID's value as of its last checkpoint, and it stays
// that low until the provider takes a local write. Its peers meanwhile hold a
// higher value for that serverID (the writes it made before the crash, which
// it holds too), so a rule comparing contextCSNs would not fail back to a
// crashed provider until something else wrote to it (seen with Debian's slapd
// 2.5.13 and back-mdb: after a SIGKILL, the value stayed at the last checkpoint
// while the database held the later writes).
//
// Directories without entryCSN (Active Directory): if the store wrote anything
// meanwhile, the earlier server must have answered every check for
// Config.FailbackDelay, a time meant to exceed the
// directory's replication latency (a domain controller notifies its first
// intra-site partner 15 s after a change by default, each further one 3 s later:
// Microsoft KB 214678).
//
// Switches are reported to Config.OnSwitch and counted (Switches).

// Switch describes a change of the server in use, for logs.
type Switch struct {
	From, To string // URLs
	Reason   string // "failover: <why the old one failed>" or "failback: <why the new one is fit>"
}

// server is one directory server of the list, with its shared connections.
type server struct {
	url    string
	pos    int // place in the list, 0 = preferred
	tlsCfg *tls.Config
	slots  []*slot
	raw    *rawPool // Search's connections (rawpool.go)
	// upSince is when the failback check first found this server answering
	// without a failure since (zero: not answering); the healer's alone.
	upSince time.Time
}

// SplitURLs splits an ordered list of LDAP URLs separated by spaces and/or
// commas ("ldap://a:389 ldap://b:389", "ldap://a:389,ldap://b:389") and checks
// each, naming the one at fault. One URL is a list of one, accepted as it
// always was (an ldap:// or ldaps:// URL with a host, whatever follows it, a
// DN with its commas included); in a list of several, each URL is scheme and
// host:port only, so that commas separate.
func SplitURLs(list string) ([]string, error) {
	if one := strings.TrimSpace(list); !strings.ContainsAny(one, " \t\n") {
		if u, err := url.Parse(one); err == nil && (u.Scheme == "ldap" || u.Scheme == "ldaps") && u.Host != "" && !strings.Contains(u.Host, ",") {
			return []string{one}, nil
		}
	}
	var urls []string
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		u, err := url.Parse(f)
		if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("LDAP URL %q: want ldap://host:port or ldaps://host:port", f)
		}
		urls = append(urls, f)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("LDAP URL %q: want ldap://host:port or ldaps://host:port", list)
	}
	return urls, nil
}

func (s *Store) cur() *server { return s.active.Load() }

// InUse returns the URL of the server the store uses now and its place in the
// list (0 = the preferred one).
func (s *Store) InUse() (url string, pos int) {
	srv := s.cur()
	return srv.url, srv.pos
}

// URLs returns the configured servers in order of preference.
func (s *Store) URLs() []string {
	out := make([]string, len(s.servers))
	for i, srv := range s.servers {
		out[i] = srv.url
	}
	return out
}

// Switches counts the changes of server since Open: failovers (away from a
// server that could not be reached) and failbacks (to an earlier server).
func (s *Store) Switches() (failovers, failbacks uint64) {
	return s.failovers.Load(), s.failbacks.Load()
}

// probeTimeout bounds one dial and bind of a failover or failback probe (and the
// reads of a failback check), so a server that drops packets costs a failover at
// most this long per server tried.
const probeTimeout = 3 * time.Second

// failoverPause is how long after a failover attempt that found no server
// another may start; requests meanwhile fail at once (503) instead of queueing
// behind probes.
const failoverPause = time.Second

// failover is called when from, the server in use (or so the caller thought),
// could not give a connection (cause). It reports whether the store now uses
// another server. Under the switch lock it probes from once more (a lone
// connection's failure is no outage) and then every other server in list
// order, moving to the first that answers. A request whose ctx has ended
// (cancelled, or past its deadline) probes nothing: its probes would fail for
// its own sake, and the attempt would pause the next, real one.
func (s *Store) failover(ctx context.Context, from *server, cause error) bool {
	if len(s.servers) < 2 || !IsUnavailable(cause) || ctx.Err() != nil {
		return false
	}
	select {
	case s.switching <- struct{}{}:
		defer func() { <-s.switching }()
	case <-ctx.Done():
		return s.cur() != from
	}
	if s.cur() != from {
		return true // someone else switched meanwhile
	}
	if time.Since(s.lastFailover) < failoverPause {
		return false
	}
	s.lastFailover = time.Now()
	if c, err := s.probe(ctx, from); err == nil {
		s.adopt(from, c)
		return false
	}
	for _, srv := range s.servers {
		if srv == from {
			continue
		}
		c, err := s.probe(ctx, srv)
		if err != nil {
			continue
		}
		s.adopt(srv, c)
		s.use(srv)
		s.failovers.Add(1)
		s.resetVerified()
		s.report(Switch{From: from.url, To: srv.url, Reason: "failover: " + cause.Error()})
		return true
	}
	return false
}

// probe dials and binds a connection to srv within probeTimeout (less when ctx
// ends sooner).
func (s *Store) probe(ctx context.Context, srv *server) (*ldap.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	start := time.Now()
	c, err := s.dialServer(ctx, srv)
	s.observe("connect", err, time.Since(start))
	return c, err
}

// adopt makes c, a fresh connection to srv, one of srv's shared connections and
// clears the backoff of srv's dead ones, so they are redialled at once.
func (s *Store) adopt(srv *server, c *ldap.Conn) {
	used := false
	for _, sl := range srv.slots {
		sl.mu.Lock()
		if sl.conn == nil || sl.conn.IsClosing() {
			if sl.conn != nil {
				sl.conn.Close()
				sl.conn = nil
			}
			if !used && sl.dialing == nil {
				sl.conn, used = c, true
			}
			sl.lastErr, sl.backoff = time.Time{}, 0
		}
		sl.mu.Unlock()
	}
	if !used {
		c.Close()
	}
	srv.raw.answered()
}

// use makes srv the server in use and closes the idle raw connections of the
// one it replaces (rawpool.go): from now on every Search goes to srv, and those
// in flight close their connections when they end.
func (s *Store) use(srv *server) {
	if old := s.active.Swap(srv); old != srv {
		old.raw.drain()
	}
}

func (s *Store) report(sw Switch) {
	if s.cfg.OnSwitch != nil {
		s.cfg.OnSwitch(sw)
	}
}

// failback moves back to the first server before cur in the list that answers
// and has caught up (see the rule at the top of this file). The healer calls it
// every FailbackInterval while cur is not the preferred server.
func (s *Store) failback(cur *server) {
	defer s.failbackChecks.Add(1)
	for _, p := range s.servers[:cur.pos] {
		ctx, cancel := context.WithTimeout(context.Background(), 2*probeTimeout)
		c, err := s.probe(ctx, p)
		if err != nil {
			p.upSince = time.Time{}
			s.resetVerified() // it may come back with less than it had
			cancel()
			continue
		}
		if p.upSince.IsZero() {
			p.upSince = time.Now()
		}
		why, ok := s.caughtUp(ctx, p, c, cur)
		if ok {
			s.failbacks.Add(1)
			s.report(Switch{From: cur.url, To: p.url, Reason: "failback: " + why})
			cancel()
			return
		}
		c.Close()
		cancel()
	}
}

// caughtUp decides whether p (reached on c) may replace cur, and if so switches
// to it (c becoming one of p's shared connections) before it returns: see the
// rule at the top of this file. why says what was checked.
func (s *Store) caughtUp(ctx context.Context, p *server, c *ldap.Conn, cur *server) (why string, ok bool) {
	curConn, err := s.slotConn(ctx, cur, cur.slots[0])
	if err != nil {
		return "", false // cur is failing: failover, not failback, decides
	}
	// A first look without holding writes back: most checks end here while p
	// is behind.
	// Entries found on p in an earlier check need no second look, unless
	// written again (then they are logged again, further on).
	s.writtenMu.Lock()
	from := 0
	if s.verifiedOn == p {
		from = s.verified
	}
	seen := len(s.written)
	dns := slices.Clone(s.written[from:seen])
	s.writtenMu.Unlock()
	i, err := behind(c, curConn, dns)
	if errors.Is(err, errNoEntryCSN) {
		if d := time.Since(p.upSince); d < s.cfg.FailbackDelay {
			return "", false
		}
	} else if err != nil {
		return "", false
	} else {
		s.writtenMu.Lock()
		s.verified, s.verifiedOn = from+i, p
		s.writtenMu.Unlock()
		if i < len(dns) {
			return "", false
		}
	}
	// Hold back new writes, wait for those in flight, and check what was
	// written meanwhile, giving replication a moment (up to ~0.6 s) to bring it.
	s.writes.Lock()
	defer s.writes.Unlock()
	s.writtenMu.Lock()
	dns = slices.Clone(s.written[seen:])
	total := len(s.written)
	s.writtenMu.Unlock()
	for wait := 5 * time.Millisecond; ; wait *= 2 {
		var i int
		i, err = behind(c, curConn, dns)
		if err == nil && i == len(dns) || errors.Is(err, errNoEntryCSN) {
			break
		}
		if err != nil || wait > 320*time.Millisecond || ctx.Err() != nil {
			return "", false // still behind: try again at the next check
		}
		time.Sleep(wait)
	}
	s.switchTo(p, c)
	if errors.Is(err, errNoEntryCSN) {
		return fmt.Sprintf("answering for %s (%d entries written meanwhile; no entryCSN to compare)", s.cfg.FailbackDelay, total), true
	}
	return fmt.Sprintf("it holds what the %d writes through %s wrote, as new as there (entryCSN)", total, cur.url), true
}

// switchTo makes p, reached on c, the server in use.
func (s *Store) switchTo(p *server, c *ldap.Conn) {
	s.switching <- struct{}{}
	defer func() { <-s.switching }()
	s.adopt(p, c)
	s.use(p)
	s.writtenMu.Lock()
	if p.pos == 0 {
		s.written = nil // back on the first server: nothing left to check
	}
	s.verified, s.verifiedOn = 0, nil // else the servers before p need them too
	s.writtenMu.Unlock()
}

// resetVerified makes the next failback check look at every entry logged:
// the versions found on a server are only known to be as new as those of the
// server in use then, and a server that went away may come back with less.
func (s *Store) resetVerified() {
	s.writtenMu.Lock()
	s.verified, s.verifiedOn = 0, nil
	s.writtenMu.Unlock()
}

// noteWrite logs the DNs an acknowledged write changed (a rename: the old DN
// and the new one), while the store uses any server but the first: a failback
// checks them (caughtUp).
func (s *Store) noteWrite(dns ...string) {
	if s.cur().pos == 0 {
		return
	}
	s.writtenMu.Lock()
	s.written = append(s.written, dns...)
	s.writtenMu.Unlock()
}

// renamedDN is the DN a modify DN request gives its entry.
func renamedDN(req *ldap.ModifyDNRequest) string {
	if req.NewSuperior != "" {
		return req.NewRDN + "," + req.NewSuperior
	}
	dn, err := ldap.ParseDN(req.DN)
	if err != nil || len(dn.RDNs) < 2 {
		return req.NewRDN
	}
	return req.NewRDN + "," + (&ldap.DN{RDNs: dn.RDNs[1:]}).String()
}

// errNoEntryCSN: the directory keeps no entryCSN (Active Directory).
var errNoEntryCSN = errors.New("the directory keeps no entryCSN")

// behind returns the index of the first of dns that the server on pc lacks,
// or holds in an older version than the server on cc: a lower entryCSN
// (OpenLDAP's change sequence number, "YYYYmmddHHMMSS.uuuuuuZ#count#sid#mod":
// fixed width, so its order is the order of the strings), or an entry that cc
// no longer has (deleted, renamed away); len(dns) when pc holds them all.
// errNoEntryCSN when entries come without one. The reads go out up to
// behindParallel at a time (go-ldap multiplexes a connection), a batch after
// another, so a check of thousands of entries takes a fraction of a second.
func behind(pc, cc *ldap.Conn, dns []string) (int, error) {
	seen := map[string]bool{}
	type item struct {
		i    int
		dn   string
		lags bool
		err  error
	}
	items := make([]item, 0, len(dns))
	for i, dn := range dns {
		if k := strings.ToLower(dn); !seen[k] {
			seen[k] = true
			items = append(items, item{i: i, dn: dn})
		}
	}
	for start := 0; start < len(items); start += behindBatch {
		batch := items[start:min(start+behindBatch, len(items))]
		var wg sync.WaitGroup
		sem := make(chan struct{}, behindParallel)
		for j := range batch {
			wg.Add(1)
			sem <- struct{}{}
			go func(it *item) {
				defer func() { <-sem; wg.Done() }()
				want, err := entryCSN(cc, it.dn)
				if err == nil {
					var have string
					have, err = entryCSN(pc, it.dn)
					it.lags = have < want || want == "" && have != ""
				}
				it.err = err
			}(&batch[j])
		}
		wg.Wait()
		for _, it := range batch {
			if it.err != nil || it.lags {
				return it.i, it.err
			}
		}
	}
	return len(dns), nil
}

// behindBatch and behindParallel shape behind's reads.
const (
	behindBatch    = 512
	behindParallel = 16
)

// entryCSN reads dn's entryCSN: "" when there is no such entry.
func entryCSN(c *ldap.Conn, dn string) (string, error) {
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"entryCSN"}, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if len(res.Entries) == 0 {
		return "", nil
	}
	v := res.Entries[0].GetAttributeValue("entryCSN")
	if v == "" {
		return "", errNoEntryCSN
	}
	return v, nil
}

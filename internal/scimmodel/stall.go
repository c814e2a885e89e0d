package scimmodel

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// AdminTimeout bounds each operation the model sends to the directory itself
// (Directory.Admin's searches and deletes, the users' binds): the directories
// tested answer each in well under a second, so one unanswered after a
// minute means the directory stopped answering. The run then fails at once,
// with Directory.Stuck's report logged, instead of waiting for go test's
// -timeout (10 minutes by default) with nothing to show but the client's side.
const AdminTimeout = time.Minute

// timedOut reports whether err is go-ldap's answer to a request left
// unanswered for the connection's timeout (Conn.SetTimeout): an
// ldap.ErrorNetwork with the message "ldap: connection timed out", the only
// way go-ldap v3 tells it apart.
func timedOut(err error) bool {
	var e *ldap.Error
	return errors.As(err, &e) && e.ResultCode == ldap.ErrorNetwork && e.Err != nil && e.Err.Error() == "ldap: connection timed out"
}

// stalled passes err through, unless it is a timeout (timedOut): then the
// first time it logs Directory.Stuck's report on the run's test, and it marks
// the directory stalled, so that every later operation fails at once
// (stalledErr) instead of waiting AdminTimeout again while rapid shrinks.
func (w *world) stalled(err error) error {
	if !timedOut(err) {
		return err
	}
	w.stallOnce.Do(func() {
		report := "(no Directory.Stuck report for this directory)"
		if w.dir.Stuck != nil {
			report = w.dir.Stuck()
		}
		w.t.Logf("the directory did not answer the model's request within %v: %v\n%s", AdminTimeout, err, report)
		w.stall.Store(true)
	})
	return fmt.Errorf("the directory did not answer within %v (its report is logged with %s): %w", AdminTimeout, w.t.Name(), err)
}

// stalledErr is the error of an operation not sent because the directory
// stopped answering earlier in the run; nil when it did not.
func (w *world) stalledErr() error {
	if w.stall.Load() {
		return fmt.Errorf("not sent: the directory stopped answering earlier in this run (its report is logged with %s)", w.t.Name())
	}
	return nil
}

// search and del are Directory.Admin's Search and Del, through stalled.
func (w *world) search(req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	if err := w.stalledErr(); err != nil {
		return nil, err
	}
	res, err := w.dir.Admin.Search(req)
	return res, w.stalled(err)
}

func (w *world) del(dn string) error {
	if err := w.stalledErr(); err != nil {
		return err
	}
	return w.stalled(w.dir.Admin.Del(ldap.NewDelRequest(dn, nil)))
}

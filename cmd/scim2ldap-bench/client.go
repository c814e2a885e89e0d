package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// leanClient sends HTTP/1.1 requests over keep-alive connections it holds itself,
// one request at a time per connection, with the standard library's request
// writer and response parser (http.Request.Write, http.ReadResponse), but without
// http.Transport's per-connection read and write goroutines. The load generator
// shares the machine's two cores with the gateway and slapd, and a real IdP runs
// elsewhere: the cheaper the generator, the closer the figures are to the
// gateway's own cost. -http-client std measures with http.Client instead.
type leanClient struct {
	addr    string // host:port
	timeout time.Duration
	idle    chan *leanConn
}

type leanConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func newLeanClient(addr string, conns int, timeout time.Duration) *leanClient {
	return &leanClient{addr: addr, timeout: timeout, idle: make(chan *leanConn, conns)}
}

// get returns an idle connection (reused true) or, when there is none or fresh
// is set, a new one.
func (lc *leanClient) get(fresh bool) (c *leanConn, reused bool, err error) {
	if !fresh {
		select {
		case c := <-lc.idle:
			return c, true, nil
		default:
		}
	}
	nc, err := net.DialTimeout("tcp", lc.addr, lc.timeout)
	if err != nil {
		return nil, false, err
	}
	return &leanConn{c: nc, br: bufio.NewReaderSize(nc, 16<<10), bw: bufio.NewWriterSize(nc, 4<<10)}, false, nil
}

func (lc *leanClient) put(c *leanConn) {
	select {
	case lc.idle <- c:
	default:
		c.c.Close()
	}
}

// leanBody is a response body that returns its connection for reuse once read
// to the end and closed, and closes it otherwise.
type leanBody struct {
	io.ReadCloser
	lc   *leanClient
	conn *leanConn
	keep bool
}

func (b *leanBody) Close() error {
	_, err := io.Copy(io.Discard, b.ReadCloser)
	b.ReadCloser.Close()
	if err == nil && b.keep {
		b.lc.put(b.conn)
	} else {
		b.conn.c.Close()
	}
	return nil
}

// Do sends req and returns its response; the caller closes the body. A request
// that fails on a reused connection before any response arrived (the gateway
// closed it while idle: its IdleTimeout) is sent again once on a new one, as
// http.Transport does, if its body can be replayed (GetBody).
func (lc *leanClient) Do(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		c, reused, err := lc.get(attempt > 0) // the retry: other idle connections are likely closed too
		if err != nil {
			return nil, err
		}
		_ = c.c.SetDeadline(time.Now().Add(lc.timeout))
		if err = req.Write(c.bw); err == nil {
			err = c.bw.Flush()
		}
		var res *http.Response
		if err == nil {
			res, err = http.ReadResponse(c.br, req)
		}
		if err == nil {
			res.Body = &leanBody{ReadCloser: res.Body, lc: lc, conn: c, keep: !res.Close}
			return res, nil
		}
		c.c.Close()
		if reused && attempt == 0 && (req.Body == nil || req.GetBody != nil) {
			if req.GetBody != nil {
				if req.Body, err = req.GetBody(); err != nil {
					return nil, err
				}
			}
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("the gateway closed the connection: " + err.Error())
		}
		return nil, err
	}
}

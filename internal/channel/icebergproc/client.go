package icebergproc

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"

	"kinesisd/internal/channel/s3dest"
)

// ErrClosed is returned by the calls of a closed Client.
var ErrClosed = errors.New("icebergproc: client closed")

// closeWait is how long Close waits for the child to end once its stdin is closed before it kills it.
const closeWait = 10 * time.Second

// Client is the service's TableStore over a kinesisd-iceberg child process. The child starts on the
// first call, not before; when it dies, the calls in progress fail (their outcome unknown: the
// service asks Position again, as after any failed Append) and the next call starts another. Its
// methods may be called concurrently.
type Client struct {
	path string
	cfg  Config
	log  *slog.Logger

	// Lock order: mu before a child's mu. mu is held while a child starts.
	mu     sync.Mutex
	child  *child // nil before the first call
	closed bool
	wg     sync.WaitGroup // the children's reading goroutines
}

// New returns a Client that runs the executable at path with cfg, logging the child's stderr lines to
// log (nil: discarded). It starts nothing.
func New(path string, cfg Config, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{path: path, cfg: cfg, log: log}
}

// child is one kinesisd-iceberg process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser

	sendMu sync.Mutex // held through each frame written
	enc    *gob.Encoder

	mu    sync.Mutex // guards next, calls, fatal
	next  uint64
	calls map[uint64]chan reply
	fatal string // the child's replyFatal

	gone chan struct{} // closed once the process has ended; err is then set
	err  error
}

// Append is the service's TableStore's: the child's writer appends recs, calling deadLetters (in this
// goroutine) before it commits.
func (c *Client) Append(ctx context.Context, t Table, recs []s3dest.Record, position string, deadLetters func([]s3dest.Rejected) error) ([]s3dest.Rejected, error) {
	r, err := c.do(ctx, request{Op: opAppend, Table: t, Records: recs, Position: position, DeadLetters: deadLetters != nil}, deadLetters)
	if err != nil {
		return nil, err
	}
	return r.Rejected, nil
}

// Position is the service's TableStore's.
func (c *Client) Position(ctx context.Context, t Table) (string, bool, error) {
	r, err := c.do(ctx, request{Op: opPosition, Table: t}, nil)
	if err != nil {
		return "", false, err
	}
	return r.Position, r.OK, nil
}

// Close ends the child (closing its stdin; killing it after closeWait) and waits for it. Calls
// after Close fail with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	ch := c.child
	c.mu.Unlock()
	if ch != nil {
		_ = ch.stdin.Close()
		select {
		case <-ch.gone:
		case <-time.After(closeWait):
			_ = ch.cmd.Process.Kill()
		}
	}
	c.wg.Wait()
	return nil
}

// do runs one call on the child, starting it if need be.
func (c *Client) do(ctx context.Context, req request, deadLetters func([]s3dest.Rejected) error) (reply, error) {
	ch, err := c.running()
	if err != nil {
		return reply{}, err
	}
	id, replies, err := ch.register()
	if err != nil {
		return reply{}, err
	}
	req.ID = id
	for i, f := range split(req) {
		if i > 0 && ctx.Err() != nil { // the child drops the records it has
			ch.unregister(id)
			_ = ch.send(request{ID: id, Op: opCancel})
			return reply{}, ctx.Err()
		}
		if err := ch.send(f); err != nil {
			return reply{}, ch.failed(err)
		}
	}
	for {
		var r reply
		select {
		case r = <-replies:
		case <-ch.gone:
			select {
			case r = <-replies: // the reply came just before the end
			default:
				return reply{}, ch.err
			}
		case <-ctx.Done():
			ch.unregister(id)
			_ = ch.send(request{ID: id, Op: opCancel})
			return reply{}, ctx.Err()
		}
		switch r.Kind {
		case replyDone:
			if r.Err != "" {
				return reply{}, fmt.Errorf("kinesisd-iceberg: %w", errors.New(r.Err))
			}
			return r, nil
		case replyDead:
			var msg string
			if deadLetters == nil {
				msg = "the call has no dead-letter callback"
			} else if err := deadLetters(r.Rejected); err != nil {
				msg = errText(err)
			}
			if err := ch.send(request{ID: id, Op: opDeadDone, Err: msg}); err != nil {
				return reply{}, ch.failed(err)
			}
		}
	}
}

// running returns the running child, starting one if there is none or the last one ended.
func (c *Client) running() (*child, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if ch := c.child; ch != nil {
		select {
		case <-ch.gone:
		default:
			return ch, nil
		}
	}
	cmd := exec.Command(c.path)
	setDeathSignal(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("icebergproc: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("icebergproc: %w", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("icebergproc: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("icebergproc: start the Iceberg writer: %w", err)
	}
	ch := &child{cmd: cmd, stdin: stdin, enc: gob.NewEncoder(stdin), calls: map[uint64]chan reply{}, gone: make(chan struct{})}
	c.log.Debug("Iceberg writer started", "path", c.path, "pid", cmd.Process.Pid)
	logged := make(chan struct{})
	c.wg.Go(func() {
		defer close(logged)
		c.logLines(cmd.Process.Pid, stderr)
	})
	c.wg.Go(func() { c.read(ch, stdout, logged) })
	c.child = ch
	if err := ch.send(request{Op: opHello, Config: &c.cfg}); err != nil {
		return nil, ch.failed(err)
	}
	return ch, nil
}

// read delivers the child's replies to their calls until its stdout ends or holds something else
// than replies; then it ends the child, waits for it and fails the calls in progress.
func (c *Client) read(ch *child, stdout io.Reader, logged <-chan struct{}) {
	dec := gob.NewDecoder(stdout)
	var readErr error
	for {
		var r reply
		if err := dec.Decode(&r); err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		if r.Kind == replyFatal {
			ch.mu.Lock()
			ch.fatal = r.Err
			ch.mu.Unlock()
			continue
		}
		ch.mu.Lock()
		replies, ok := ch.calls[r.ID]
		if ok && r.Kind == replyDone {
			delete(ch.calls, r.ID)
		}
		ch.mu.Unlock()
		if !ok {
			if r.Kind == replyDead { // a call given up: commit nothing
				_ = ch.send(request{ID: r.ID, Op: opDeadDone, Err: "the call was given up"})
			}
			continue
		}
		select {
		case replies <- r:
		default:
			readErr = fmt.Errorf("call %d: more replies than the protocol allows", r.ID)
		}
		if readErr != nil {
			break
		}
	}
	_ = ch.stdin.Close() // the child ends when its stdin does
	if readErr != nil {
		_ = ch.cmd.Process.Kill()
	}
	<-logged
	waitErr := ch.cmd.Wait()
	ch.mu.Lock()
	why := "exited"
	switch {
	case ch.fatal != "":
		why = "could not start: " + ch.fatal
	case readErr != nil:
		why = fmt.Sprintf("broke the protocol (%v) and was killed", readErr)
	case waitErr != nil:
		why = fmt.Sprintf("exited (%v)", waitErr)
	}
	ch.err = fmt.Errorf("icebergproc: the Iceberg writer %s (pid %d) %s; the outcome of its calls in progress is unknown, and the next call starts it again",
		c.path, ch.cmd.Process.Pid, why)
	ch.mu.Unlock()
	close(ch.gone)
	c.log.Warn("Iceberg writer ended", "pid", ch.cmd.Process.Pid, "err", ch.err)
}

// logLines logs the child's stderr, line by line, at the level its slog text line says (WARN for
// other lines: a panic's trace, say).
func (c *Client) logLines(pid int, stderr io.Reader) {
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		level := slog.LevelWarn
		for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
			if strings.Contains(line, " level="+l.String()+" ") {
				level = l
				break
			}
		}
		c.log.Log(context.Background(), level, "kinesisd-iceberg", "pid", pid, "line", line)
	}
	_, _ = io.Copy(io.Discard, stderr) // a line beyond the scanner's limit: drain, so the child never blocks
}

// register allocates a call ID and its reply channel, unless the child has ended.
func (ch *child) register() (uint64, chan reply, error) {
	select {
	case <-ch.gone:
		return 0, nil, ch.err
	default:
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.next++
	replies := make(chan reply, 2) // a replyDead and a replyDone at most are in flight
	ch.calls[ch.next] = replies
	return ch.next, replies, nil
}

func (ch *child) unregister(id uint64) {
	ch.mu.Lock()
	delete(ch.calls, id)
	ch.mu.Unlock()
}

func (ch *child) send(r request) error {
	ch.sendMu.Lock()
	defer ch.sendMu.Unlock()
	return ch.enc.Encode(&r)
}

// failed is the error of a call whose frame could not be written: the child's end, once known.
func (ch *child) failed(err error) error {
	select {
	case <-ch.gone:
		return ch.err
	case <-time.After(time.Second):
		return fmt.Errorf("icebergproc: write to the Iceberg writer: %w", err)
	}
}

package icebergproc

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"sync"

	"kinesisd/internal/channel/s3dest"
)

// Writer is what Serve serves: the Iceberg writer (cmd/kinesisd-iceberg adapts iceberg.Writer), a
// fake in tests. Append and Position are the service's TableStore's and may be called concurrently;
// Close is called once, after every call has returned.
type Writer interface {
	Append(ctx context.Context, t Table, recs []s3dest.Record, position string, deadLetters func([]s3dest.Rejected) error) ([]s3dest.Rejected, error)
	Position(ctx context.Context, t Table) (position string, ok bool, err error)
	Close() error
}

// Serve is the child's side: it reads the Config from in, opens the writer with open, then serves
// the requests read from in, each call in its own goroutine, writing replies to out. It returns nil
// when in ends after the Config (the parent closed it or died), an error when in ends before it,
// holds something else than requests, or open fails (told to the parent first). Before it returns,
// every call's context is cancelled, the calls have returned and the writer is closed.
func Serve(ctx context.Context, in io.Reader, out io.Writer, open func(context.Context, Config) (Writer, error)) error {
	dec := gob.NewDecoder(in)
	var hello request
	if err := dec.Decode(&hello); err != nil {
		return fmt.Errorf("icebergproc: read the configuration: %w", err)
	}
	if hello.Op != opHello || hello.Config == nil {
		return fmt.Errorf("icebergproc: the first frame is op %d, not the configuration", hello.Op)
	}
	s := &server{enc: gob.NewEncoder(out), calls: map[uint64]*served{}}
	w, err := open(ctx, *hello.Config)
	if err != nil {
		_ = s.send(reply{Kind: replyFatal, Err: errText(err)})
		return fmt.Errorf("icebergproc: open the writer: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		_ = w.Close()
	}()
	start := func(req request) error {
		callCtx, cancelCall := context.WithCancel(ctx)
		c := &served{cancel: cancelCall, dead: make(chan string, 1)}
		s.mu.Lock()
		_, dup := s.calls[req.ID]
		if !dup {
			s.calls[req.ID] = c
		}
		s.mu.Unlock()
		if dup {
			cancelCall()
			return fmt.Errorf("icebergproc: call %d started twice", req.ID)
		}
		wg.Go(func() {
			defer cancelCall()
			s.serve(callCtx, w, req, c)
		})
		return nil
	}
	// incoming holds the opAppends whose records are still coming (see split). Only this loop
	// touches it.
	incoming := map[uint64]*request{}
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("icebergproc: read a request: %w", err)
		}
		switch req.Op {
		case opAppend, opPosition:
			if incoming[req.ID] != nil {
				return fmt.Errorf("icebergproc: call %d started twice", req.ID)
			}
			if req.Op == opAppend && req.More {
				incoming[req.ID] = &req
				continue
			}
			if err := start(req); err != nil {
				return err
			}
		case opRecords:
			in := incoming[req.ID]
			if in == nil {
				return fmt.Errorf("icebergproc: records for call %d, which is not an Append being sent", req.ID)
			}
			in.Records = append(in.Records, req.Records...)
			if req.More {
				continue
			}
			delete(incoming, req.ID)
			in.More = false
			if err := start(*in); err != nil {
				return err
			}
		case opDeadDone:
			if c := s.call(req.ID); c != nil {
				select {
				case c.dead <- req.Err:
				default:
					return fmt.Errorf("icebergproc: call %d: dead letters answered twice", req.ID)
				}
			}
		case opCancel:
			if incoming[req.ID] != nil {
				delete(incoming, req.ID)
				continue
			}
			if c := s.call(req.ID); c != nil {
				c.cancel()
			}
		default:
			return fmt.Errorf("icebergproc: call %d: unknown op %d", req.ID, req.Op)
		}
	}
}

// server is Serve's state.
type server struct {
	sendMu sync.Mutex // held through each frame written
	enc    *gob.Encoder

	mu    sync.Mutex // guards calls
	calls map[uint64]*served
}

// served is a call in progress.
type served struct {
	cancel context.CancelFunc
	dead   chan string // the parent's answer to the call's replyDead
}

func (s *server) send(r reply) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.enc.Encode(&r)
}

func (s *server) call(id uint64) *served {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}

// serve runs one call and sends its replyDone. A reply that cannot be sent is dropped: the parent is
// gone, and Serve's read of in ends.
func (s *server) serve(ctx context.Context, w Writer, req request, c *served) {
	rep := reply{ID: req.ID, Kind: replyDone}
	var err error
	switch req.Op {
	case opPosition:
		rep.Position, rep.OK, err = w.Position(ctx, req.Table)
	case opAppend:
		var deadLetters func([]s3dest.Rejected) error
		if req.DeadLetters {
			deadLetters = func(rej []s3dest.Rejected) error {
				if err := s.send(reply{ID: req.ID, Kind: replyDead, Rejected: rej}); err != nil {
					return fmt.Errorf("dead letters: send: %w", err)
				}
				select {
				case msg := <-c.dead:
					if msg != "" {
						return fmt.Errorf("dead letters: %w", errors.New(msg))
					}
					return nil
				case <-ctx.Done():
					return fmt.Errorf("dead letters: %w", ctx.Err())
				}
			}
		}
		rep.Rejected, err = w.Append(ctx, req.Table, req.Records, req.Position, deadLetters)
	}
	if err != nil {
		rep.Rejected, rep.Position, rep.OK, rep.Err = nil, "", false, errText(err)
	}
	s.mu.Lock()
	delete(s.calls, req.ID)
	s.mu.Unlock()
	_ = s.send(rep)
}

// Package audit keeps bill-mcp's audit trail: one JSON line per tool call
// (who, from which client and transport, which tool, the records it
// touched, the decision and the rule behind it, the outcome and how long it
// took), appended to audit.jsonl under a file lock so several servers can
// share it. Each line carries its own hash and the hash of the line before
// it, so a changed, removed or inserted line shows. Arguments are
// summarised by field name, never by value: the trail holds no credential,
// token, session id or account number.
package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// FileName is the trail's name in the vault directory.
const FileName = "audit.jsonl"

// Decisions a record carries.
const (
	Allowed          = "allowed"
	Refused          = "refused"
	ApprovalRequired = "approval_required"
	Approved         = "approved"
)

// Outcomes a record carries.
const (
	OK      = "ok"
	Failed  = "failed"
	Pending = "pending" // waiting for approval; nothing was sent to BILL
	NotRun  = "not_run" // refused; nothing was sent to BILL
)

// Ref is one record a call touched.
type Ref struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Record is one line of the trail.
type Record struct {
	Time       time.Time `json:"time"`
	Agent      string    `json:"agent"` // agent name, or "owner"
	Client     string    `json:"client,omitempty"`
	Transport  string    `json:"transport"`
	Remote     string    `json:"remote,omitempty"`
	Tool       string    `json:"tool"`
	Args       string    `json:"args,omitempty"`  // field names and item counts, never values
	Count      int       `json:"count,omitempty"` // records touched, when more than Records lists
	Records    []Ref     `json:"records,omitempty"`
	Decision   string    `json:"decision"`
	Rule       string    `json:"rule"`
	Approval   string    `json:"approval,omitempty"` // approval code asked for or used
	Outcome    string    `json:"outcome"`
	Code       string    `json:"code,omitempty"` // BILL or local error code on failure
	DurationMS float64   `json:"durationMs"`
	Prev       string    `json:"prev"`
	Hash       string    `json:"hash"`
}

// hashOf is the SHA-256 of r's JSON with Hash empty.
func hashOf(r Record) (string, error) {
	r.Hash = ""
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Log appends to one trail file.
type Log struct {
	path string
}

// Open returns the trail at path (made, 0600, on the first Append).
func Open(path string) *Log { return &Log{path: path} }

// Path is the trail file.
func (l *Log) Path() string { return l.path }

// tailRead bounds how much of the file's end Append reads to find the last line.
const tailRead = maxLine

// Append writes r as the next line, chained to the last one. It holds an
// exclusive lock on PATH.lock while it reads the last hash and writes.
func (l *Log) Append(r Record) error {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return fmt.Errorf("audit trail directory: %w", err)
	}
	lk := flock.New(l.path+".lock", flock.SetPermissions(0o600))
	if err := lk.Lock(); err != nil {
		return fmt.Errorf("lock audit trail: %w", err)
	}
	defer func() { _ = lk.Unlock() }()
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open audit trail: %w", err)
	}
	defer f.Close()
	prev, err := lastHash(f)
	if err != nil {
		return err
	}
	r.Prev = prev
	r.Time = r.Time.UTC()
	if r.Hash, err = hashOf(r); err != nil {
		return fmt.Errorf("encode audit record: %w", err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode audit record: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write audit trail: %w", err)
	}
	return nil
}

// lastHash returns the hash of the file's last line, "" for an empty file.
func lastHash(f *os.File) (string, error) {
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("audit trail: %w", err)
	}
	size := fi.Size()
	if size == 0 {
		return "", nil
	}
	// Lines are short: read the last 4 KB, more only when a line is longer.
	var buf []byte
	for n := min(size, 4<<10); ; n = min(size, n*4) {
		buf = make([]byte, n)
		if _, err := f.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read audit trail: %w", err)
		}
		buf = bytes.TrimRight(buf, "\n")
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
			break
		}
		if n == size || n >= tailRead {
			break
		}
	}
	var last struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(buf, &last); err != nil || last.Hash == "" {
		return "", fmt.Errorf("the last line of audit trail %s is damaged; run `bill-mcp audit verify`, move the file away to start a new trail: %w", f.Name(), ErrBroken)
	}
	return last.Hash, nil
}

// ErrBroken marks a trail whose chain does not hold.
var ErrBroken = errors.New("audit trail broken")

// BadLineError names the first line that breaks the chain.
type BadLineError struct {
	Line int
	Why  string
}

func (e *BadLineError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line, e.Why)
}

// Unwrap makes errors.Is(err, ErrBroken) hold.
func (e *BadLineError) Unwrap() error { return ErrBroken }

// maxLine bounds one line when reading.
const maxLine = 1 << 20

// Read returns every record of the trail at path, checking nothing (see
// Verify). A missing file is an empty trail.
func Read(path string) ([]Record, error) {
	var out []Record
	err := scan(path, func(_ int, r Record, _ []byte, err error) error {
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// Verify checks every line's hash and its link to the line before. It
// returns the number of lines, and a *BadLineError for the first line that
// was changed, or follows a removed or inserted line.
func Verify(path string) (int, error) {
	prev, n := "", 0
	err := scan(path, func(line int, r Record, _ []byte, err error) error {
		n = line
		if err != nil {
			return &BadLineError{Line: line, Why: "not a valid audit record (" + err.Error() + ")"}
		}
		h, herr := hashOf(r)
		switch {
		case herr != nil || h != r.Hash:
			return &BadLineError{Line: line, Why: "its content does not match its hash: the line was changed"}
		case r.Prev != prev:
			return &BadLineError{Line: line, Why: "it does not follow the line before it: a line was removed or inserted here"}
		}
		prev = r.Hash
		return nil
	})
	return n, err
}

// scan calls f for each line, numbered from 1.
func scan(path string, f func(line int, r Record, raw []byte, err error) error) error {
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open audit trail: %w", err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	line := 0
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		var r Record
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		derr := dec.Decode(&r)
		if err := f(line, r, raw, derr); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read audit trail line %d: %w", line+1, err)
	}
	return nil
}

// Package kerr holds one Go type per Kinesis and AWS protocol error code, each carrying the exact AWS message.
package kerr

import (
	"fmt"
	"strings"
)

//go:generate go run ./gen

// Error is what every type in this package implements; the HTTP edge writes any Error as AWS does.
type Error interface {
	error
	Code() string
	HTTPStatus() int
	Message() string
}

// Status returns the HTTP status of code, and false for a code this package does not define.
func Status(code string) (int, bool) {
	s, ok := codes[code]
	return s, ok
}

// StreamNotFound is AWS's message for a stream that does not exist.
func StreamNotFound(stream, account string) *ResourceNotFound {
	return NewResourceNotFound(fmt.Sprintf("Stream %s under account %s not found.", stream, account))
}

// Violation is one failed model constraint, as ValidationException lists them.
type Violation struct {
	Value      string // already rendered the way AWS renders it: 'x', null, or a Java-ish toString
	Path       string // e.g. streamName, records.1.member.partitionKey
	Constraint string // e.g. Member must not be null
}

// Validations collects constraint failures in the order they are found.
type Validations []Violation

// Add records one failure; value is the rendered value (see Quote, Null).
func (v *Validations) Add(value, path, constraint string) {
	*v = append(*v, Violation{Value: value, Path: path, Constraint: constraint})
}

// Err returns nil when nothing failed, or a ValidationException listing at most 10 failures.
func (v Validations) Err() error {
	if len(v) == 0 {
		return nil
	}
	list := v
	if len(list) > 10 {
		list = list[:10] // AWS collects at most 10 and counts only those
	}
	var b strings.Builder
	if len(list) == 1 {
		b.WriteString("1 validation error detected: ")
	} else {
		fmt.Fprintf(&b, "%d validation errors detected: ", len(list))
	}
	for i, f := range list {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "Value %s at '%s' failed to satisfy constraint: %s", f.Value, f.Path, f.Constraint)
	}
	return NewValidation(b.String())
}

// Quote renders a value as AWS does in validation messages: in single quotes.
func Quote(s string) string { return "'" + s + "'" }

// Null is how AWS renders a missing value in validation messages.
const Null = "null"

// Package errs is the one error vocabulary of Tessera. Use cases return *Error values
// (or plain errors, which are treated as internal); the gRPC layer turns them into
// standard status codes with ErrorInfo and BadRequest details in exactly one place.
package errs

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Domain is the ErrorInfo domain of every Tessera error.
const Domain = "tessera.dev"

// Kind is the class of an error; it decides the gRPC code.
type Kind int

const (
	KindInvalid Kind = iota + 1
	KindNotFound
	KindAlreadyExists
	KindFailedPrecondition
	KindPermissionDenied
	KindUnauthenticated
	KindAborted
	KindResourceExhausted
	KindUnavailable
)

// FieldViolation names one field of a request and why it was refused.
type FieldViolation struct {
	Field       string
	Description string
}

// Error is a client-facing error: its message and details are shown to the caller.
type Error struct {
	Kind       Kind
	Reason     string // stable, machine-readable: QUANTITY_EXCEEDED, HOST_ID_INVALID, ...
	Message    string
	Violations []FieldViolation
	Metadata   map[string]string
}

func (e *Error) Error() string {
	if len(e.Violations) == 0 {
		return e.Message
	}
	return fmt.Sprintf("%s: %s: %s", e.Message, e.Violations[0].Field, e.Violations[0].Description)
}

// Code maps the kind to a gRPC code.
func (e *Error) Code() codes.Code {
	switch e.Kind {
	case KindInvalid:
		return codes.InvalidArgument
	case KindNotFound:
		return codes.NotFound
	case KindAlreadyExists:
		return codes.AlreadyExists
	case KindFailedPrecondition:
		return codes.FailedPrecondition
	case KindPermissionDenied:
		return codes.PermissionDenied
	case KindUnauthenticated:
		return codes.Unauthenticated
	case KindAborted:
		return codes.Aborted
	case KindResourceExhausted:
		return codes.ResourceExhausted
	case KindUnavailable:
		return codes.Unavailable
	}
	return codes.Internal
}

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsKind reports whether err is of the given kind: an *Error, or a database error
// that translates to one (a unique violation is KindAlreadyExists).
func IsKind(err error, k Kind) bool {
	e, ok := As(err)
	if !ok {
		e = FromPostgres(err)
	}
	if e == nil {
		// A neighbour service's answer arrives as a gRPC status of the kind's code.
		if st, ok := status.FromError(err); ok && err != nil {
			return st.Code() == (&Error{Kind: k}).Code()
		}
	}
	return e != nil && e.Kind == k
}

// NotFound says a resource does not exist (or is not visible to the caller, which
// must look the same so that other tenants' IDs are not disclosed).
func NotFound(resource, id string) *Error {
	return &Error{
		Kind: KindNotFound, Reason: "NOT_FOUND",
		Message:  fmt.Sprintf("%s %q not found", resource, id),
		Metadata: map[string]string{"resource": resource, "id": id},
	}
}

// AlreadyExists says a resource with the same identity exists.
func AlreadyExists(resource, id string) *Error {
	return &Error{
		Kind: KindAlreadyExists, Reason: "ALREADY_EXISTS",
		Message:  fmt.Sprintf("%s %q already exists", resource, id),
		Metadata: map[string]string{"resource": resource, "id": id},
	}
}

// FailedPrecondition refuses a request the current state does not allow.
func FailedPrecondition(reason, format string, args ...any) *Error {
	return &Error{Kind: KindFailedPrecondition, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// PermissionDenied refuses a caller that lacks a permission.
func PermissionDenied(permission string) *Error {
	return &Error{
		Kind: KindPermissionDenied, Reason: "PERMISSION_DENIED",
		Message:  fmt.Sprintf("the caller lacks permission %q", permission),
		Metadata: map[string]string{"permission": permission},
	}
}

// Unauthenticated refuses a request without a valid identity.
func Unauthenticated(reason, message string) *Error {
	return &Error{Kind: KindUnauthenticated, Reason: reason, Message: message}
}

// Aborted says a concurrent change won; the caller may retry.
func Aborted(reason, message string) *Error {
	return &Error{Kind: KindAborted, Reason: reason, Message: message}
}

// Unavailable says a dependency could not be reached; the caller may retry.
func Unavailable(reason, message string) *Error {
	return &Error{Kind: KindUnavailable, Reason: reason, Message: message}
}

// Violations collects field violations while a request is validated.
type Violations struct {
	list []FieldViolation
}

// Add records that field is invalid.
func (v *Violations) Add(field, format string, args ...any) {
	v.list = append(v.list, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Require records a violation when value is empty.
func (v *Violations) Require(field, value string) {
	if value == "" {
		v.Add(field, "is required")
	}
}

// Err returns an InvalidArgument error listing every violation, or nil.
func (v *Violations) Err() error {
	if len(v.list) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Reason: "INVALID_ARGUMENT", Message: "invalid request", Violations: v.list}
}

// Invalid is a shortcut for a single field violation.
func Invalid(field, format string, args ...any) error {
	var v Violations
	v.Add(field, format, args...)
	return v.Err()
}

// InvalidReason is Invalid with a specific stable reason (e.g. HOST_ID_INVALID).
func InvalidReason(reason, field, format string, args ...any) error {
	var v Violations
	v.Add(field, format, args...)
	e, _ := As(v.Err())
	e.Reason = reason
	return e
}

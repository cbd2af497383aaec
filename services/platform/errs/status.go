package errs

import (
	"context"
	"errors"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// ToStatus is the single mapping from any error to a gRPC status. Known errors keep
// their code, reason and field violations; database errors are translated; anything
// else is logged and masked as Internal so that no detail of it leaks to callers.
func ToStatus(ctx context.Context, err error) *status.Status {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return st // already a status, e.g. from a downstream service
	}
	if errors.Is(err, context.Canceled) {
		return status.New(codes.Canceled, "request canceled")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	}
	e, ok := As(err)
	if !ok {
		e = FromPostgres(err)
	}
	if e == nil {
		slog.ErrorContext(ctx, "internal error", "err", err)
		return status.New(codes.Internal, "internal error")
	}
	st := status.New(e.Code(), e.Message)
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: e.Reason, Domain: Domain, Metadata: e.Metadata}}
	if len(e.Violations) > 0 {
		br := &errdetails.BadRequest{}
		for _, v := range e.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		}
		details = append(details, br)
	}
	withDetails, derr := st.WithDetails(details...)
	if derr != nil {
		return st
	}
	return withDetails
}

// Code is the gRPC code ToStatus will give err, without logging anything.
func Code(err error) codes.Code {
	switch {
	case err == nil:
		return codes.OK
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	}
	if st, ok := status.FromError(err); ok {
		return st.Code()
	}
	if e, ok := As(err); ok {
		return e.Code()
	}
	if e := FromPostgres(err); e != nil {
		return e.Code()
	}
	return codes.Internal
}

// FromPostgres translates database errors that carry meaning for the caller. It
// returns nil for errors that are internal.
func FromPostgres(err error) *Error {
	if errors.Is(err, pgx.ErrNoRows) {
		return &Error{Kind: KindNotFound, Reason: "NOT_FOUND", Message: "not found"}
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return nil
	}
	switch pgErr.Code {
	case "23505": // unique_violation
		return &Error{Kind: KindAlreadyExists, Reason: "ALREADY_EXISTS", Message: "already exists", Metadata: map[string]string{"constraint": pgErr.ConstraintName}}
	case "23503": // foreign_key_violation
		return &Error{Kind: KindFailedPrecondition, Reason: "REFERENCE_INVALID", Message: "a referenced resource does not exist or is still in use", Metadata: map[string]string{"constraint": pgErr.ConstraintName}}
	case "23514": // check_violation
		return &Error{Kind: KindFailedPrecondition, Reason: "CONSTRAINT_VIOLATED", Message: "the change breaks a rule of the resource", Metadata: map[string]string{"constraint": pgErr.ConstraintName}}
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return &Error{Kind: KindAborted, Reason: "CONCURRENT_UPDATE", Message: "a concurrent change won; retry"}
	}
	return nil
}

// Reason returns the stable reason of err: an *Error's own, or the ErrorInfo reason
// of a gRPC status a neighbour service answered with; "" when there is none.
func Reason(err error) string {
	if e, ok := As(err); ok {
		return e.Reason
	}
	if st, ok := status.FromError(err); ok && err != nil {
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				return info.GetReason()
			}
		}
	}
	return ""
}

// Flat is an error as one entry of a batch answer carries it: what ToStatus would
// answer for it alone, without field violations (batch entries name no request field).
type Flat struct {
	Code     codes.Code
	Reason   string
	Message  string
	Metadata map[string]string
}

// Flatten maps err the way ToStatus does, for a batch entry.
func Flatten(ctx context.Context, err error) Flat {
	st := ToStatus(ctx, err)
	f := Flat{Code: st.Code(), Message: st.Message()}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			f.Reason, f.Metadata = info.GetReason(), info.GetMetadata()
		}
	}
	return f
}

// Err turns a batch entry's error back into the status error a single call would
// have returned, so that Code and Reason read it alike.
func (f Flat) Err() error {
	st := status.New(f.Code, f.Message)
	if f.Reason != "" {
		if withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: f.Reason, Domain: Domain, Metadata: f.Metadata}); err == nil {
			st = withInfo
		}
	}
	return st.Err()
}

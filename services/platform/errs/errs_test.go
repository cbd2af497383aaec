package errs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

func TestToStatus(t *testing.T) {
	var v errs.Violations
	v.Require("name", "")
	v.Add("quantity", "must be positive")
	cases := []struct {
		err    error
		code   codes.Code
		reason string
	}{
		{v.Err(), codes.InvalidArgument, "INVALID_ARGUMENT"},
		{fmt.Errorf("wrapped: %w", errs.NotFound("line item", "A")), codes.NotFound, "NOT_FOUND"},
		{errs.FailedPrecondition("QUANTITY_EXCEEDED", "no"), codes.FailedPrecondition, "QUANTITY_EXCEEDED"},
		{errs.PermissionDenied("x"), codes.PermissionDenied, "PERMISSION_DENIED"},
		{&pgconn.PgError{Code: "23505", ConstraintName: "c"}, codes.AlreadyExists, "ALREADY_EXISTS"},
		{&pgconn.PgError{Code: "40001"}, codes.Aborted, "CONCURRENT_UPDATE"},
		{pgx.ErrNoRows, codes.NotFound, "NOT_FOUND"},
		{errors.New("secret database password in here"), codes.Internal, ""},
		{context.DeadlineExceeded, codes.DeadlineExceeded, ""},
	}
	for _, c := range cases {
		st := errs.ToStatus(context.Background(), c.err)
		require.Equal(t, c.code, st.Code(), "%v", c.err)
		if c.code == codes.Internal {
			require.Equal(t, "internal error", st.Message(), "internal errors are masked")
			require.Empty(t, st.Details())
			continue
		}
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				require.Equal(t, c.reason, info.GetReason())
				require.Equal(t, errs.Domain, info.GetDomain())
			}
		}
	}
	st := errs.ToStatus(context.Background(), v.Err())
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				fields = append(fields, fv.GetField())
			}
		}
	}
	require.Equal(t, []string{"name", "quantity"}, fields)
}

// A batch entry's error, flattened and rebuilt, reads like the error a single call
// would have returned: same code, reason, message and metadata.
func TestFlattenRoundTrip(t *testing.T) {
	e := errs.FailedPrecondition("QUANTITY_EXCEEDED", "only %d left", 3)
	e.Metadata = map[string]string{"available": "3"}
	f := errs.Flatten(context.Background(), e)
	require.Equal(t, errs.Flat{Code: codes.FailedPrecondition, Reason: "QUANTITY_EXCEEDED", Message: "only 3 left", Metadata: map[string]string{"available": "3"}}, f)
	back := f.Err()
	require.Equal(t, codes.FailedPrecondition, status.Code(back))
	require.Equal(t, "QUANTITY_EXCEEDED", errs.Reason(back))
	require.Equal(t, "only 3 left", status.Convert(back).Message())

	masked := errs.Flatten(context.Background(), errors.New("disk on fire"))
	require.Equal(t, codes.Internal, masked.Code)
	require.NotContains(t, masked.Message, "fire", "internal details stay inside")
}

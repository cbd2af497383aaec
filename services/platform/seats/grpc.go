package seats

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/google/uuid"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Client implements Entitlements with the entitlement service's gRPC client.
type Client struct {
	Ent entitlementpb.EntitlementServiceClient
}

// ReserveSeats implements Entitlements.
func (c Client) ReserveSeats(ctx context.Context, claim Claim, holder string, ttl time.Duration) (string, error) {
	req := reserveRequest(claim, holder, ttl)
	r, err := c.Ent.ReserveSeats(ctx, req)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(r.GetAccount(), "accounts/"), nil
}

// BatchReserveSeats implements Entitlements.
func (c Client) BatchReserveSeats(ctx context.Context, cs []Claim, holder string, ttl time.Duration) ([]error, error) {
	req := &entitlementpb.BatchReserveSeatsRequest{Reservations: make([]*entitlementpb.ReserveSeatsRequest, len(cs))}
	for i, claim := range cs {
		req.Reservations[i] = reserveRequest(claim, holder, ttl)
	}
	r, err := c.Ent.BatchReserveSeats(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(r.GetOutcomes()) != len(cs) {
		return nil, fmt.Errorf("seats: %d outcomes for %d reservations", len(r.GetOutcomes()), len(cs))
	}
	refused := make([]error, len(cs))
	for i, o := range r.GetOutcomes() {
		if e := o.GetError(); e != nil {
			refused[i] = errs.Flat{Code: codes.Code(e.GetCode()), Reason: e.GetReason(), Message: e.GetMessage(), Metadata: e.GetMetadata()}.Err()
		}
	}
	return refused, nil
}

func reserveRequest(claim Claim, holder string, ttl time.Duration) *entitlementpb.ReserveSeatsRequest {
	req := &entitlementpb.ReserveSeatsRequest{
		ReservationId: claim.ID.String(), ActivationId: claim.ActivationID, Quantity: claim.Quantity, Holder: holder, AccountIds: claim.AccountIDs,
	}
	if claim.Replaces != nil {
		req.Replaces = claim.Replaces.String()
	}
	if ttl > 0 {
		req.Ttl = durationpb.New(ttl)
	}
	if !claim.Start.IsZero() {
		req.StartTime = timestamppb.New(claim.Start)
	}
	return req
}

// ConfirmSeats implements Entitlements.
func (c Client) ConfirmSeats(ctx context.Context, id uuid.UUID) error {
	_, err := c.Ent.ConfirmSeats(ctx, &entitlementpb.ConfirmSeatsRequest{ReservationId: id.String()})
	return err
}

// BatchConfirmSeats implements Entitlements.
func (c Client) BatchConfirmSeats(ctx context.Context, ids []uuid.UUID) ([]uuid.UUID, map[uuid.UUID]string, error) {
	req := &entitlementpb.BatchConfirmSeatsRequest{ReservationIds: make([]string, len(ids))}
	for i, id := range ids {
		req.ReservationIds[i] = id.String()
	}
	r, err := c.Ent.BatchConfirmSeats(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	confirmed := make([]uuid.UUID, 0, len(r.GetConfirmed()))
	for _, s := range r.GetConfirmed() {
		if id, err := uuid.Parse(s); err == nil {
			confirmed = append(confirmed, id)
		}
	}
	refused := map[uuid.UUID]string{}
	for s, reason := range r.GetRefused() {
		if id, err := uuid.Parse(s); err == nil {
			refused[id] = reason
		}
	}
	return confirmed, refused, nil
}

// ReleaseSeats implements Entitlements.
func (c Client) ReleaseSeats(ctx context.Context, id uuid.UUID) error {
	_, err := c.Ent.ReleaseSeats(ctx, &entitlementpb.ReleaseSeatsRequest{ReservationId: id.String()})
	return err
}

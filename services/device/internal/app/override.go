package app

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/duration"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// configuredExpiry is when seats of li taken at now expire by the line item's own
// terms; nil: permanent. A term that starts at the first activation starts now when
// nothing started it yet, as the license service dates a first activation.
func configuredExpiry(li LineItem, now time.Time) *time.Time {
	if li.StartTime == nil && li.StartAtFirstActivation && li.ExpireAfter != "" {
		return duration.TermEnd(li.ExpireAfter, now)
	}
	return li.ExpireTime
}

// checkOverride checks an expiry override (SPEC DEV-7): after now, and before the
// line item's configured expiry unless it is permanent.
func checkOverride(v *errs.Violations, field string, li LineItem, expireAt, now time.Time) {
	if expireAt.IsZero() {
		return
	}
	if !expireAt.After(now) {
		v.Add(field, "must be in the future")
		return
	}
	if exp := configuredExpiry(li, now); exp != nil && !expireAt.Before(*exp) {
		v.Add(field, "must be before the line item's own expiry (%s)", exp.UTC().Format(time.RFC3339))
	}
}

// ExpiredOverride is a live mapping whose expiry override has passed.
type ExpiredOverride struct {
	TenantID, DeviceID string
	ID                 uuid.UUID
}

// expireBatch is how many expired overrides one pass of ExpireOverrides reads.
const expireBatch = 500

// maxClaimGenerations bounds the fresh claims one expired override may need: a claim
// is given up (released by the reconciler) only when a run died between reserving
// and committing and did not come back within the ledger's grace.
const maxClaimGenerations = 8

// ExpireOverrides gives back the seats of every live mapping, of every tenant, whose
// expiry override is at or before now (SPEC DEV-7), without asking the device: per
// mapping, a claim replacing its claim with zero seats, committed in the
// transaction that ends the row (override_expired) under the device's row lock. Two
// runs at once wait for each other per device and the second finds the row ended; a
// run that died midway leaves rows live, and the next run takes them up.
func (a *App) ExpireOverrides(ctx context.Context, now time.Time) (int, error) {
	released := 0
	failed := map[uuid.UUID]bool{}
	for {
		list, err := a.store.ExpiredOverrides(ctx, now, expireBatch)
		if err != nil {
			return released, err
		}
		progress := false
		var firstErr error
		for _, o := range list {
			if failed[o.ID] {
				continue
			}
			done, err := a.expireOverride(authz.ForTenant(ctx, o.TenantID), o, now)
			if err != nil {
				failed[o.ID] = true
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			progress = true
			if done {
				released++
			}
		}
		if !progress || len(list) < expireBatch {
			return released, firstErr
		}
	}
}

// expireOverride ends one expired mapping; done is false when another run ended it.
func (a *App) expireOverride(ctx context.Context, o ExpiredOverride, now time.Time) (bool, error) {
	var lastErr error
	for gen := range maxClaimGenerations {
		key := "override/" + o.ID.String() + "/" + strconv.Itoa(gen)
		done, claim, err := a.giveBack(ctx, o, now, ids.FromKey(o.TenantID, "device", key), key)
		if errors.Is(err, seats.ErrClaimReleased) {
			lastErr = err
			continue // a run that died left this claim to the reconciler: use the next
		}
		if err != nil {
			return false, err
		}
		if done {
			a.seats.ConfirmNow(ctx, claim)
		}
		return done, nil
	}
	return false, lastErr
}

func (a *App) giveBack(ctx context.Context, o ExpiredOverride, now time.Time, claimID uuid.UUID, requestID string) (bool, uuid.UUID, error) {
	done := false
	began := false
	release, err := a.store.Reserving(ctx)
	if err != nil {
		return false, claimID, err
	}
	defer release()
	err = a.store.ChangeDevices(ctx, o.TenantID, []string{o.DeviceID}, "", Operation{}, func(_ map[string]LockedDevice, live []Held) (Change, error) {
		for _, h := range live {
			if h.ID != o.ID || h.ExpireAt.IsZero() || h.ExpireAt.After(now) {
				continue
			}
			if !h.Confirmed {
				a.seats.ConfirmNow(ctx, h.ClaimID)
			}
			old := h.ClaimID
			if _, err := a.seats.Begin(ctx, seats.Claim{ID: claimID, TenantID: o.TenantID, ActivationID: h.ActivationID, Replaces: &old}); err != nil {
				return Change{}, err
			}
			began, done = true, true
			return Change{
				End: []Ended{{ID: h.ID, Reason: EndOverrideExpired}}, Commit: []uuid.UUID{claimID},
				Events: []DeviceEvent{{"device", "line_item_unmapped", &eventspb.DeviceLineItemUnmapped{
					DeviceId: o.DeviceID, ActivationId: h.ActivationID, Quantity: h.Quantity, Reason: EndOverrideExpired, RequestId: requestID,
				}}},
			}, nil
		}
		return Change{}, nil // ended meanwhile by another run, an unmap or a return
	})
	if err != nil && began && !errors.Is(err, seats.ErrClaimReleased) {
		a.seats.Abort(ctx, o.TenantID, claimID)
	}
	return done && err == nil, claimID, err
}

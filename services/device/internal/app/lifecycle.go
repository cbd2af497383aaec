package app

import (
	"context"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/quantity"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// claimsOf runs seat claims for a change under the devices' locks and gives back
// those begun when the change is not stored.
type claimsOf struct {
	a      *App
	ctx    context.Context
	tenant string
	begun  []uuid.UUID
}

// replace begins a claim replacing h's claim with keep seats: the replaced seats stay
// held until the new claim is confirmed, so they are never free in between.
func (c *claimsOf) replace(h Held, key string, keep int64) (uuid.UUID, error) {
	if !h.Confirmed {
		c.a.seats.ConfirmNow(c.ctx, h.ClaimID) // a replacement takes over confirmed seats
	}
	id := ids.FromKey(c.tenant, "device", key)
	old := h.ClaimID
	if _, err := c.a.seats.Begin(c.ctx, seats.Claim{ID: id, TenantID: c.tenant, ActivationID: h.ActivationID, Quantity: keep, Replaces: &old}); err != nil {
		return uuid.Nil, err
	}
	c.begun = append(c.begun, id)
	return id, nil
}

// settle confirms the claims of a stored change before the answer (seats given
// back are free when it comes), or gives them back when it failed.
func (c *claimsOf) settle(err error) {
	if err == nil {
		for _, id := range c.begun {
			c.a.seats.ConfirmNow(c.ctx, id)
		}
		return
	}
	if errors.Is(err, seats.ErrClaimReleased) {
		return // settled already
	}
	// A replayed request was stored by a twin before this call failed: claims they
	// share are committed, and the release below leaves committed claims alone.
	for _, id := range c.begun {
		c.a.seats.Abort(c.ctx, c.tenant, id)
	}
}

// UnmapLineItem gives back count seats a device holds of a line item (SPEC DEV-6),
// newest mappings first: a mapping given back whole ends under a claim replacing its
// own with zero seats, a partial one is replaced by a row holding what stays. Seats
// of the line items the named one superseded count as its own. Owners give back any
// mapping; other accounts only their own.
//
// The replacing claims are reserved before the device's lock is taken, and the
// transaction stores the change only if the rows it planned from are still live: a
// reservation may be replaced by one claim at a time, so two racing give-backs of
// one mapping cannot both reserve, and the loser plans again from the rows as they
// are then.
func (a *App) UnmapLineItem(ctx context.Context, deviceID, activationID string, count int64, requestID string) (Device, error) {
	var v errs.Violations
	v.Require("device", deviceID)
	v.Require("line_item", activationID)
	quantity.Check(&v, "quantity", count, 1)
	checkRequestID(&v, requestID)
	if err := v.Err(); err != nil {
		return Device{}, err
	}
	op := callerOp(ctx, Operation{Kind: OpUnmap, DeviceID: deviceID, Fingerprint: strconv.Quote(activationID) + "|" + strconv.FormatInt(count, 10)})
	if d, done, err := a.replay(ctx, requestID, op); done || err != nil {
		return d, err
	}
	tenant := authz.MustTenant(ctx)
	requestID = orNew(requestID)
	// Give-backs of one device in this process take turns (across processes they
	// retry): racing ones would mostly refuse each other.
	stripe := &unmapStripes[stripeOf(tenant+"/"+deviceID)]
	stripe.Lock()
	defer stripe.Unlock()
	var err error
	for attempt := range maxUnmapAttempts {
		err = a.unmapOnce(ctx, tenant, deviceID, activationID, count, requestID, op, attempt)
		if !errors.Is(err, errPlanStale) {
			break
		}
		time.Sleep(time.Duration(attempt+1)*5*time.Millisecond + time.Duration(rand.IntN(5))*time.Millisecond) //nolint:gosec // jitter, not a secret
	}
	if errors.Is(err, ErrReplayed) {
		d, _, rerr := a.replay(ctx, requestID, op)
		return d, rerr
	}
	if errors.Is(err, errPlanStale) {
		return Device{}, errs.Aborted("MAPPING_BUSY", "the device's mappings kept changing; retry")
	}
	if err != nil {
		return Device{}, err
	}
	return a.answerWrite(ctx, deviceID)
}

// maxUnmapAttempts bounds the plans of one give-back racing others on one mapping.
const maxUnmapAttempts = 12

// unmapStripes serialize the give-backs of a device within the process.
var unmapStripes [256]sync.Mutex

func stripeOf(key string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return h.Sum32() % uint32(len(unmapStripes))
}

var errPlanStale = errors.New("the mappings changed since they were read")

// chainOf is the line item and those its chain superseded (read fresh: what an
// unmap gives back must not depend on a cached view).
func (a *App) chainOf(ctx context.Context, activationID string) ([]string, error) {
	chain := []string{activationID}
	for id := activationID; len(chain) <= maxChain; {
		li, err := a.ent.LineItem(ctx, id)
		if errs.IsKind(err, errs.KindNotFound) || status.Code(err) == codes.NotFound {
			return chain, nil
		}
		if err != nil {
			return nil, err
		}
		if li.Supersedes == "" || slices.Contains(chain, li.Supersedes) {
			return chain, nil
		}
		id = li.Supersedes
		chain = append(chain, id)
	}
	return chain, nil
}

// maxChain bounds the upgrades, upsells and renewals one chain is followed through.
const maxChain = 100

func (a *App) unmapOnce(ctx context.Context, tenant, deviceID, activationID string, count int64, requestID string, op Operation, attempt int) error {
	// A twin may have stored this request while this call waited its turn.
	if _, done, err := a.store.Operation(ctx, tenant, requestID); err != nil || done {
		if done {
			return ErrReplayed
		}
		return err
	}
	p := principal(ctx)
	state, live, err := a.store.LiveMappings(ctx, tenant, deviceID)
	if err != nil {
		return err
	}
	raw := Device{ID: deviceID, AccountID: state.AccountID, Status: state.Status}
	for _, h := range live {
		raw.Mappings = append(raw.Mappings, h.Mapping)
	}
	owner := ownsDevice(p, raw)
	chain, err := a.chainOf(ctx, activationID)
	if err != nil {
		return err
	}
	var rows []Held
	var held int64
	mine := false
	for _, h := range live {
		ok := slices.Contains(chain, h.ActivationID)
		allowed := owner || authz.CanActFor(p, h.AccountID)
		mine = mine || allowed
		if ok && allowed {
			rows, held = append(rows, h), held+h.Quantity
		}
	}
	if !owner && !mine && !ScopeOf(p).Sees(raw) {
		return errs.NotFound("device", deviceID)
	}
	if state.Status == StatusReturned {
		return errReturned(deviceID)
	}
	if held == 0 {
		return errs.Invalid("line_item", "the device holds no seats of line item %s that you may give back", activationID)
	}
	if count > held {
		return errs.Invalid("quantity", "the device holds %d seats of line item %s; give back at most that", held, activationID)
	}
	// Newest first: what was mapped last goes back first.
	slices.SortStableFunc(rows, func(x, y Held) int { return y.CreateTime.Compare(x.CreateTime) })
	cl := &claimsOf{a: a, ctx: ctx, tenant: tenant}
	c := Change{Device: deviceID}
	left := count
	for _, h := range rows {
		if left == 0 {
			break
		}
		give := min(left, h.Quantity)
		left -= give
		keep := h.Quantity - give
		id, err := cl.replace(h, requestID+"/unmap/"+strconv.Itoa(attempt)+"/"+h.ClaimID.String(), keep)
		if err != nil {
			cl.settle(err)
			if errs.Reason(err) == "RESERVATION_NOT_REPLACEABLE" || errors.Is(err, seats.ErrClaimReleased) {
				return errPlanStale // another give-back of this mapping is under way
			}
			return err
		}
		c.Commit = append(c.Commit, id)
		if keep == 0 {
			c.End = append(c.End, Ended{ID: h.ID, Reason: EndUnmapped})
		} else {
			c.End = append(c.End, Ended{ID: h.ID, Reason: EndReplaced})
			c.Add = append(c.Add, NewMapping{DeviceID: deviceID, Mapping: successorRow(h.Mapping, id, keep, requestID)})
		}
		c.Events = append(c.Events, DeviceEvent{"device", "line_item_unmapped", &eventspb.DeviceLineItemUnmapped{
			DeviceId: deviceID, ActivationId: h.ActivationID, Quantity: give, Reason: EndUnmapped, RequestId: requestID,
		}})
	}
	err = a.store.ChangeDevices(ctx, tenant, []string{deviceID}, requestID, op, func(locked map[string]LockedDevice, now []Held) (Change, error) {
		if locked[deviceID].Status == StatusReturned {
			return Change{}, errReturned(deviceID)
		}
		for _, e := range c.End {
			if !slices.ContainsFunc(now, func(h Held) bool { return h.ID == e.ID }) {
				return Change{}, errPlanStale
			}
		}
		return c, nil
	})
	cl.settle(err)
	return err
}

// successorRow is the row that holds what stays of m under claim id.
func successorRow(m Mapping, id uuid.UUID, keep int64, requestID string) Mapping {
	old := m.ID
	m.ID, m.ClaimID, m.Quantity, m.RequestID, m.Replaces = id, id, keep, requestID, &old
	return m
}

func orNew(requestID string) string {
	if requestID == "" {
		return ids.New("REQ", 4)
	}
	return requestID
}

// ReturnDevice returns a device for good (SPEC DEV-8). With a destination device,
// each live mapping moves there under a claim replacing its own with the same seats
// (never free in between); else each gives its seats back.
func (a *App) ReturnDevice(ctx context.Context, deviceID, destination, rmaNumber, requestID string) (Device, error) {
	var v errs.Violations
	v.Require("name", deviceID)
	checkRequestID(&v, requestID)
	if destination == deviceID && destination != "" {
		v.Add("destination_device", "must be another device")
	}
	if len(rmaNumber) > 64 {
		v.Add("rma_number", "must be at most 64 characters")
	}
	if err := v.Err(); err != nil {
		return Device{}, err
	}
	op := callerOp(ctx, Operation{Kind: OpReturn, DeviceID: deviceID, Fingerprint: strconv.Quote(destination) + "|" + strconv.Quote(rmaNumber)})
	if d, done, err := a.replay(ctx, requestID, op); done || err != nil {
		return d, err
	}
	tenant := authz.MustTenant(ctx)
	p := principal(ctx)
	if err := a.mayManage(ctx, p, "name", deviceID); err != nil {
		return Device{}, err
	}
	locks := []string{deviceID}
	skip := false
	if destination != "" {
		if err := a.mayManage(ctx, p, "destination_device", destination); err != nil {
			return Device{}, err
		}
		locks = append(locks, destination)
		var err error
		if skip, err = a.store.SkipAccountCheck(ctx, tenant); err != nil {
			return Device{}, err
		}
	}
	requestID = orNew(requestID)
	release, err := a.store.Reserving(ctx)
	if err != nil {
		return Device{}, err
	}
	defer release()
	// Like give-backs, a return takes its turn with them, and one that lost a race
	// for a mapping's claim to one plans again from the rows as they are then.
	stripe := &unmapStripes[stripeOf(tenant+"/"+deviceID)]
	stripe.Lock()
	defer stripe.Unlock()
	for attempt := range maxUnmapAttempts {
		err = a.returnOnce(ctx, tenant, deviceID, destination, rmaNumber, requestID, op, locks, skip, attempt)
		if errs.Reason(err) != "RESERVATION_NOT_REPLACEABLE" {
			break
		}
		time.Sleep(time.Duration(attempt+1)*5*time.Millisecond + time.Duration(rand.IntN(5))*time.Millisecond) //nolint:gosec // jitter, not a secret
	}
	if errors.Is(err, ErrReplayed) {
		d, _, rerr := a.replay(ctx, requestID, op)
		return d, rerr
	}
	if errs.Reason(err) == "RESERVATION_NOT_REPLACEABLE" {
		return Device{}, errs.Aborted("MAPPING_BUSY", "the device's mappings kept changing; retry")
	}
	if err != nil {
		return Device{}, err
	}
	return a.answerWrite(ctx, deviceID)
}

// returnOnce plans and stores a return from the device's live rows once; the first
// attempt's claims are keyed as before retries existed, so a crashed return's retry
// finds the claims it reserved.
func (a *App) returnOnce(ctx context.Context, tenant, deviceID, destination, rmaNumber, requestID string, op Operation,
	locks []string, skip bool, attempt int,
) error {
	cl := &claimsOf{a: a, ctx: ctx, tenant: tenant}
	key := requestID + "/return/"
	if attempt > 0 {
		key += strconv.Itoa(attempt) + "/"
	}
	err := a.store.ChangeDevices(ctx, tenant, locks, requestID, op, func(locked map[string]LockedDevice, live []Held) (Change, error) {
		if locked[deviceID].Status == StatusReturned {
			return Change{}, errReturned(deviceID)
		}
		dest := locked[destination]
		if destination != "" && dest.Status == StatusReturned {
			return Change{}, errs.Invalid("destination_device", "device %s was returned", destination)
		}
		if destination != "" {
			if err := errInService(destination, dest.Status); err != nil {
				return Change{}, err
			}
		}
		// The seats stay with their owner: an unowned destination could be claimed,
		// seats and all, by anyone (SPEC DEV-4).
		if destination != "" && (dest.AccountID == "" || dest.AccountID != locked[deviceID].AccountID) {
			return Change{}, errs.Invalid("destination_device", "device %s is not owned by device %s's owner", destination, deviceID)
		}
		c := Change{Device: deviceID, Return: &Return{Time: a.now(), RMANumber: rmaNumber, DestinationDevice: destination}}
		for _, h := range live {
			if h.DeviceID != deviceID {
				continue
			}
			if destination != "" && !skip && dest.AccountID != "" && h.AccountID != dest.AccountID {
				return Change{}, errs.Invalid("destination_device", "line item %s belongs to another account than device %s's owner", h.ActivationID, destination)
			}
			keep := int64(0)
			if destination != "" {
				keep = h.Quantity
			}
			id, err := cl.replace(h, key+h.ClaimID.String(), keep)
			if err != nil {
				return Change{}, err
			}
			c.Commit = append(c.Commit, id)
			c.End = append(c.End, Ended{ID: h.ID, Reason: EndReturned})
			c.Events = append(c.Events, DeviceEvent{"device", "line_item_unmapped", &eventspb.DeviceLineItemUnmapped{
				DeviceId: deviceID, ActivationId: h.ActivationID, Quantity: h.Quantity, Reason: EndReturned, RequestId: requestID,
			}})
			if destination != "" {
				c.Add = append(c.Add, NewMapping{DeviceID: destination, Mapping: successorRow(h.Mapping, id, keep, requestID)})
				c.Events = append(c.Events, DeviceEvent{"device", "line_item_mapped", &eventspb.DeviceLineItemMapped{
					DeviceId: destination, ActivationId: h.ActivationID, Quantity: keep, AccountId: h.AccountID, RequestId: requestID,
				}})
			}
		}
		c.Events = append(c.Events, DeviceEvent{"device", "returned", &eventspb.DeviceReturned{DeviceId: deviceID, DestinationDeviceId: destination, RmaNumber: rmaNumber}})
		return c, nil
	})
	cl.settle(err)
	return err
}

// mayManage checks that p has full control of a device (its owner, or a producer);
// a device it may not see is not found, one it sees but does not own refused.
func (a *App) mayManage(ctx context.Context, p *commonpb.Principal, field, deviceID string) error {
	d, err := a.store.GetDevice(ctx, p.GetTenantId(), deviceID)
	if errs.IsKind(err, errs.KindNotFound) && field != "name" {
		return errs.Invalid(field, "device %q does not exist", deviceID)
	}
	if err != nil {
		return err
	}
	if ownsDevice(p, d) {
		return nil
	}
	if !ScopeOf(p).Sees(d) {
		if field != "name" {
			return errs.Invalid(field, "device %q does not exist", deviceID)
		}
		return errs.NotFound("device", deviceID)
	}
	return errs.PermissionDenied("the device's owner")
}

// MoveDevice moves a device to a related account the caller acts for (SPEC DEV-8):
// the entitlement service moves each mapping's seats (pooled into a matching line
// item of the target, or as a new one) under a reservation derived from the request
// and mapping, so a retried move moves nothing twice; one transaction then ends the
// old rows, stores the new ones with their adopted claims and changes the owner.
func (a *App) MoveDevice(ctx context.Context, deviceID, toAccount string, pool bool, requestID string) (Device, error) {
	var v errs.Violations
	v.Require("name", deviceID)
	v.Require("to_account", toAccount)
	checkRequestID(&v, requestID)
	if err := v.Err(); err != nil {
		return Device{}, err
	}
	op := callerOp(ctx, Operation{Kind: OpMove, DeviceID: deviceID, Fingerprint: strconv.Quote(toAccount) + "|" + strconv.FormatBool(pool)})
	if d, done, err := a.replay(ctx, requestID, op); done || err != nil {
		return d, err
	}
	tenant := authz.MustTenant(ctx)
	p := principal(ctx)
	if err := a.mayManage(ctx, p, "name", deviceID); err != nil {
		return Device{}, err
	}
	if !authz.CanActFor(p, toAccount) {
		return Device{}, errs.Invalid("to_account", "account %q does not exist", toAccount)
	}
	if ok, err := a.accounts.AccountExists(ctx, toAccount); err != nil || !ok {
		if err != nil {
			return Device{}, err
		}
		return Device{}, errs.Invalid("to_account", "account %q does not exist", toAccount)
	}
	requestID = orNew(requestID)
	release, err := a.store.Reserving(ctx)
	if err != nil {
		return Device{}, err
	}
	defer release()
	err = a.store.ChangeDevices(ctx, tenant, []string{deviceID}, requestID, op, func(locked map[string]LockedDevice, live []Held) (Change, error) {
		d := locked[deviceID]
		if d.Status == StatusReturned {
			return Change{}, errReturned(deviceID)
		}
		if d.AccountID == toAccount {
			return Change{}, errs.Invalid("to_account", "the device is owned by %s already", toAccount)
		}
		// Seats of another account's line items are that account's: a move would
		// hand them to the target, so the device must give them back first.
		if n := othersLineItems(live, d.AccountID); n > 0 {
			return Change{}, errs.FailedPrecondition("DEVICE_HOLDS_OTHER_ACCOUNTS_SEATS",
				"device %s holds seats of %d line item(s) of other accounts than its owner; unmap them before moving it", deviceID, n)
		}
		to := toAccount
		c := Change{Device: deviceID, Owner: &to}
		moved := map[string]string{}
		for _, h := range live {
			if !h.Confirmed {
				a.seats.ConfirmNow(ctx, h.ClaimID) // only confirmed seats move
			}
			next := ids.FromKey(tenant, "device", requestID+"/move/"+h.ID.String())
			activationID, err := a.ent.MoveSeats(ctx, h.ClaimID, h.Quantity, toAccount, pool, next)
			if err != nil {
				return Change{}, err
			}
			li, err := a.ent.LineItem(ctx, activationID)
			if err != nil {
				return Change{}, err
			}
			n := successorRow(h.Mapping, next, h.Quantity, requestID)
			n.ActivationID, n.AccountID, n.ProductID = activationID, li.AccountID, li.ProductID
			c.End = append(c.End, Ended{ID: h.ID, Reason: EndMoved})
			c.Add = append(c.Add, NewMapping{DeviceID: deviceID, Mapping: n})
			c.Adopt = append(c.Adopt, seats.Claim{ID: next, TenantID: tenant, ActivationID: activationID, Quantity: h.Quantity})
			moved[h.ActivationID] = activationID
		}
		c.Events = append(c.Events,
			DeviceEvent{"device", "owner_changed", &eventspb.DeviceOwnerChanged{DeviceId: deviceID, FromAccountId: d.AccountID, ToAccountId: toAccount, Reason: "moved"}},
			DeviceEvent{"device", "moved", &eventspb.DeviceMoved{DeviceId: deviceID, FromAccountId: d.AccountID, ToAccountId: toAccount, LineItems: moved}})
		return c, nil
	})
	if errors.Is(err, ErrReplayed) {
		d, _, rerr := a.replay(ctx, requestID, op)
		return d, rerr
	}
	if err != nil {
		return Device{}, err
	}
	return a.answerWrite(ctx, deviceID)
}

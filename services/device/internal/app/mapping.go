package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/quantity"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// LineItem is what mapping needs to know of an entitlement line item.
type LineItem struct {
	ActivationID, AccountID, ProductID, EntitlementID, ProductLineID string
	Deployed, Obsolete, Cancelled                                    bool
	Available                                                        int64
	OverdraftAllowed                                                 bool
	// StartAtFirstActivation: the term (ExpireAfter) starts when seats are first
	// taken; StartTime is empty until then.
	StartAtFirstActivation bool
	ExpireAfter            string
	StartTime, ExpireTime  *time.Time
	// Supersedes is the line item this one upgrades, upsells or renews;
	// SupersededIDs every earlier line item of its chain, newest first.
	Supersedes    string
	SupersededIDs []string
}

// Entitlements is what the use cases need of the entitlement service.
type Entitlements interface {
	LineItem(ctx context.Context, activationID string) (LineItem, error)
	// Successors maps every line item of the account that an upgrade, upsell or
	// renewal superseded to the newest line item of its chain.
	Successors(ctx context.Context, accountID string) (map[string]string, error)
	// MoveSeats moves seats a confirmed reservation holds to a line item of another
	// account, held afterwards under next (idempotent by next); it returns that line
	// item's activation ID.
	MoveSeats(ctx context.Context, reservation uuid.UUID, quantity int64, toAccount string, pool bool, next uuid.UUID) (string, error)
}

// Operation records a write that changed what a device holds, by request ID.
type Operation struct {
	Kind, DeviceID, Fingerprint string
}

// Operation kinds.
const (
	OpMap    = "map"
	OpUnmap  = "unmap"
	OpReturn = "return"
	OpMove   = "move"
)

// End reasons of a mapping row (device_line_items.end_reason).
const (
	EndUnmapped        = "unmapped"
	EndReplaced        = "replaced"
	EndOverrideExpired = "override_expired"
	EndReturned        = "returned"
	EndMoved           = "moved"
)

// LockedDevice is a device row read under its lock.
type LockedDevice struct {
	ID, AccountID, Status string
	Sequence              int64
}

// Held is a live mapping row and whether its claim is confirmed yet.
type Held struct {
	Mapping
	DeviceID  string
	Confirmed bool
}

// NewMapping is a mapping row to store on a device.
type NewMapping struct {
	DeviceID string
	Mapping
}

// Ended is a mapping row that ends.
type Ended struct {
	ID     uuid.UUID
	Reason string
}

// DeviceEvent is an event to write with a change.
type DeviceEvent struct {
	Entity, Verb string
	Msg          proto.Message
}

// Change is one change of what devices hold, applied by the store in the
// transaction that holds the devices' row locks: the operation recorded, rows ended
// (each only if still live) and added, pending claims committed, confirmed claims
// adopted, the owner or status changed, the sequence of every touched device
// increased, and the events written.
type Change struct {
	// Device is the device whose owner or status changes.
	Device string
	End    []Ended
	Add    []NewMapping
	Commit []uuid.UUID
	Adopt  []seats.Claim
	// Owner, when set, becomes the account of Device.
	Owner *string
	// Return, when set, marks Device returned.
	Return *Return
	Events []DeviceEvent
}

// Return is how a device left service (SPEC DEV-8).
type Return struct {
	Time              time.Time
	RMANumber         string
	DestinationDevice string
}

// ErrReplayed says another call with the change's request ID was stored first.
var ErrReplayed = errors.New("request already applied")

// MappingStore keeps the seats mapped to devices.
type MappingStore interface {
	// Operation returns the write a request ID was used for.
	Operation(ctx context.Context, tenant, requestID string) (Operation, bool, error)
	// SkipAccountCheck reports the tenant's device_settings.skip_account_check.
	SkipAccountCheck(ctx context.Context, tenant string) (bool, error)
	// ChangeDevices records the operation under its request ID (none: no record),
	// locks the devices' rows (in ID order), reads their live mappings and lets plan
	// decide the change, which it applies in the same transaction. It returns
	// ErrReplayed, before plan runs, when the request ID was stored already.
	ChangeDevices(ctx context.Context, tenant string, deviceIDs []string, requestID string, op Operation,
		plan func(locked map[string]LockedDevice, live []Held) (Change, error)) error
	// LiveMappings reads a device's owner, status and live mappings without
	// locking it.
	LiveMappings(ctx context.Context, tenant, deviceID string) (LockedDevice, []Held, error)
	// Reserving bounds the changes whose plan reserves seats while it holds the
	// devices' locks (each holds a connection and needs another): release when done.
	Reserving(ctx context.Context) (release func(), err error)
	// ExpiredOverrides lists live mappings of every tenant whose override expired
	// by now.
	ExpiredOverrides(ctx context.Context, now time.Time, limit int) ([]ExpiredOverride, error)
}

// MapItem is one line item to map: its seats and an optional expiry override.
type MapItem struct {
	ActivationID string
	// ByActivationID: named by activation ID alone (channel partners must).
	ByActivationID bool
	Quantity       int64
	ExpireAt       time.Time
}

// MapLineItem maps seats of one line item: MapLineItems with one item.
func (a *App) MapLineItem(ctx context.Context, deviceID, activationID string, count int64, requestID string) (Device, error) {
	d, err := a.MapLineItems(ctx, deviceID, []MapItem{{ActivationID: activationID, Quantity: count}}, requestID, false)
	return d, renameFields(err, "items[0].line_item", "line_item", "items[0].quantity", "quantity", "items[0].activation_id", "line_item")
}

// renameFields renames the field violations of err (from, to pairs).
func renameFields(err error, pairs ...string) error {
	e, ok := errs.As(err)
	if !ok || len(e.Violations) == 0 {
		return err
	}
	out := *e
	out.Violations = slices.Clone(e.Violations)
	for i, fv := range out.Violations {
		for k := 0; k+1 < len(pairs); k += 2 {
			if fv.Field == pairs[k] {
				out.Violations[i].Field = pairs[k+1]
			}
		}
	}
	return &out
}

const maxRequestID = 128

func checkRequestID(v *errs.Violations, requestID string) {
	if len(requestID) > maxRequestID {
		v.Add("request_id", "must be at most %d characters", maxRequestID)
	}
}

// fingerprint is a canonical form of a request's parameters, compared on replays.
func mapFingerprint(items []MapItem) string {
	parts := make([]string, len(items))
	for i, it := range items {
		exp := ""
		if !it.ExpireAt.IsZero() {
			exp = strconv.FormatInt(it.ExpireAt.UnixMicro(), 10)
		}
		// Quoted: an activation ID may hold any separator.
		parts[i] = strconv.Quote(it.ActivationID) + "|" + strconv.FormatInt(it.Quantity, 10) + "|" + exp
	}
	return strings.Join(parts, ";")
}

// callerOp binds an operation to its caller: a request ID replayed by anyone else is
// "another request", so a replay never confirms nor shows another caller's write.
func callerOp(ctx context.Context, op Operation) Operation {
	p := principal(ctx)
	op.Fingerprint += "|caller:" + strings.Join([]string{
		p.GetKind().String(), p.GetUserId(), p.GetService(), p.GetScopeEntitlementId(), p.GetScopeActivationId(),
	}, "/")
	return op
}

// replay answers a request ID used before: the device as it is now for the same
// request, InvalidArgument on request_id for another one. done is false for a new
// request ID.
func (a *App) replay(ctx context.Context, requestID string, op Operation) (d Device, done bool, err error) {
	if requestID == "" {
		return Device{}, false, nil
	}
	prev, found, err := a.store.Operation(ctx, authz.MustTenant(ctx), requestID)
	if err != nil || !found {
		return Device{}, false, err
	}
	if prev != op {
		return Device{}, false, errs.Invalid("request_id", "was used before for another request")
	}
	d, err = a.answerWrite(ctx, op.DeviceID)
	return d, true, err
}

// answerWrite reads a device for the answer of a write: as the caller may see it
// (GetDevice). With the account check off, a caller who gave up the last mapping it
// could see gets the bare device.
func (a *App) answerWrite(ctx context.Context, deviceID string) (Device, error) {
	d, err := a.GetDevice(ctx, deviceID)
	if errs.IsKind(err, errs.KindNotFound) {
		// Only where anyone knowing a device's ID may map to it is its existence
		// no secret.
		if skip, serr := a.store.SkipAccountCheck(ctx, authz.MustTenant(ctx)); serr != nil || !skip {
			return Device{}, err
		}
		raw, rerr := a.store.GetDevice(ctx, authz.MustTenant(ctx), deviceID)
		if rerr != nil {
			return Device{}, rerr
		}
		raw.Mappings = nil
		return Present(ScopeOf(principal(ctx)), raw), nil
	}
	return d, err
}

func principal(ctx context.Context) *commonpb.Principal {
	p, _ := authz.FromContext(ctx)
	return p
}

// NewestOfChains shows the seats a device holds of a line item an upgrade, upsell
// or renewal superseded under the newest line item of that chain (they stay
// consumed on the line item they were taken from, SPEC ENT-4, DEV-6). Masked
// mappings are left as they are.
func (a *App) NewestOfChains(ctx context.Context, d Device) (Device, error) {
	newest := map[string]string{}
	for _, m := range d.Mappings {
		if m.Masked || m.AccountID == "" {
			continue
		}
		got, err := a.ent.Successors(ctx, m.AccountID)
		if err != nil {
			return Device{}, err
		}
		if n, ok := got[m.ActivationID]; ok {
			newest[m.ActivationID] = n
		}
	}
	if len(newest) == 0 {
		return d, nil
	}
	var out []Mapping
	at := map[string]int{}
	for _, m := range d.Mappings {
		if n, ok := newest[m.ActivationID]; ok && !m.Masked {
			m.ActivationID = n
		}
		if i, ok := at[m.ActivationID]; ok && !m.Masked {
			out[i].Quantity += m.Quantity
			continue
		}
		if !m.Masked {
			at[m.ActivationID] = len(out)
		}
		out = append(out, m)
	}
	d.Mappings = out
	return d, nil
}

// MapLineItems maps seats of line items to a device, all or nothing (SPEC DEV-3,
// DEV-4, DEV-6, DEV-7). Every entry is checked before anything is taken and every
// failure is reported on its entry; a replay of a request ID answers the first
// result however full the line items are now.
func (a *App) MapLineItems(ctx context.Context, deviceID string, items []MapItem, requestID string, validateOnly bool) (Device, error) {
	var v errs.Violations
	v.Require("device", deviceID)
	checkRequestID(&v, requestID)
	if len(items) == 0 {
		v.Add("items", "name at least one line item")
	}
	seen := map[string]int{}
	for i, it := range items {
		field := fmt.Sprintf("items[%d].", i)
		name := field + "line_item"
		if it.ByActivationID {
			name = field + "activation_id"
		}
		v.Require(name, it.ActivationID)
		quantity.Check(&v, field+"quantity", it.Quantity, 1)
		if first, dup := seen[it.ActivationID]; dup && it.ActivationID != "" {
			v.Add(name, "names the same line item as items[%d]; give one entry per line item", first)
		} else {
			seen[it.ActivationID] = i
		}
	}
	if err := v.Err(); err != nil {
		return Device{}, err
	}
	tenant := authz.MustTenant(ctx)
	op := callerOp(ctx, Operation{Kind: OpMap, DeviceID: deviceID, Fingerprint: mapFingerprint(items)})
	if !validateOnly {
		if d, done, err := a.replay(ctx, requestID, op); done || err != nil {
			return d, err
		}
	}
	p := principal(ctx)
	dev, err := a.store.GetDevice(ctx, tenant, deviceID)
	if err != nil {
		return Device{}, err
	}
	skip, err := a.store.SkipAccountCheck(ctx, tenant)
	if err != nil {
		return Device{}, err
	}
	if err := a.mayMapTo(p, dev, skip); err != nil {
		return Device{}, err
	}
	lis, short, err := a.checkItems(ctx, p, dev, items, skip)
	if err != nil {
		return Device{}, err
	}
	if validateOnly || (short.Err() != nil && requestID == "") {
		if err := short.Err(); err != nil {
			return Device{}, err
		}
		return a.answerWrite(ctx, deviceID)
	}
	// Too few seats left may be this request's own, taken by a twin in flight: the
	// claims below are the twin's too and the ledger answers them as held; a new
	// request is refused there and then told what each entry lacks.
	if requestID == "" {
		requestID = ids.New("REQ", 4)
	}
	now := a.now()
	claims := make([]seats.Claim, len(items))
	for i, it := range items {
		claims[i] = seats.Claim{
			ID: ids.FromKey(tenant, "device", requestID+"/map/"+it.ActivationID), TenantID: tenant,
			ActivationID: it.ActivationID, Quantity: it.Quantity, AccountIDs: []string{lis[i].AccountID}, Start: now,
		}
	}
	var begun []uuid.UUID
	abort := func() {
		for _, id := range begun {
			a.seats.Abort(ctx, tenant, id)
		}
	}
	var refused error
	for i, err := range a.seats.BeginMany(ctx, claims) {
		if err == nil {
			begun = append(begun, claims[i].ID)
		} else if refused == nil {
			refused = renameSeatError(err, fmt.Sprintf("items[%d]", i))
		}
	}
	if refused != nil {
		abort()
		if d, done, rerr := a.replay(ctx, requestID, op); done || rerr != nil {
			return d, rerr
		}
		if err := short.Err(); err != nil {
			return Device{}, err
		}
		return Device{}, refused
	}
	change := func(locked map[string]LockedDevice, live []Held) (Change, error) {
		d := locked[deviceID]
		if d.Status == StatusReturned {
			return Change{}, errReturned(deviceID)
		}
		if err := errInService(deviceID, d.Status); err != nil {
			return Change{}, err
		}
		c := Change{Device: deviceID, Commit: begun}
		owner := d.AccountID
		if owner == "" {
			// Claim-and-map (SPEC DEV-4): the first line item's account owns the
			// device; under the row lock, so of two claimers one wins.
			owner = lis[0].AccountID
			if n := othersLineItems(live, owner); n > 0 {
				// Claiming would hand the claimer control of seats it does not own.
				return Change{}, errs.FailedPrecondition("DEVICE_HOLDS_OTHER_ACCOUNTS_SEATS",
					"device %s holds seats of %d line item(s) of other accounts; it cannot be claimed", deviceID, n)
			}
			c.Owner = &owner
			c.Events = append(c.Events, DeviceEvent{"device", "owner_changed", &eventspb.DeviceOwnerChanged{DeviceId: deviceID, ToAccountId: owner, Reason: "claimed"}})
		}
		for i, it := range items {
			if !skip && lis[i].AccountID != owner {
				return Change{}, errs.FailedPrecondition("DEVICE_OWNER_CHANGED", "device %s is owned by another account now; line item %s cannot be mapped to it", deviceID, it.ActivationID)
			}
			m := Mapping{
				ID: claims[i].ID, ActivationID: it.ActivationID, AccountID: lis[i].AccountID, ProductID: lis[i].ProductID,
				Quantity: it.Quantity, RequestID: requestID, ClaimID: claims[i].ID, ExpireAt: it.ExpireAt,
			}
			if exp := configuredExpiry(lis[i], now); exp != nil {
				m.ConfiguredExpireAt = *exp
			}
			c.Add = append(c.Add, NewMapping{DeviceID: deviceID, Mapping: m})
			ev := &eventspb.DeviceLineItemMapped{DeviceId: deviceID, ActivationId: it.ActivationID, Quantity: it.Quantity, AccountId: m.AccountID, RequestId: requestID}
			if !it.ExpireAt.IsZero() {
				ev.ExpireTime = timestamppb.New(it.ExpireAt)
			}
			c.Events = append(c.Events, DeviceEvent{"device", "line_item_mapped", ev})
		}
		return c, nil
	}
	if err := a.store.ChangeDevices(ctx, tenant, []string{deviceID}, requestID, op, change); err != nil {
		if errors.Is(err, ErrReplayed) {
			// A twin with this request ID stored it first: the claims they share
			// are committed (the release leaves them alone), others go back.
			abort()
			d, _, rerr := a.replay(ctx, requestID, op)
			return d, rerr
		}
		if !errors.Is(err, seats.ErrClaimReleased) {
			abort()
		}
		return Device{}, err
	}
	for _, id := range begun {
		a.seats.Confirm(ctx, id)
	}
	return a.answerWrite(ctx, deviceID)
}

// renameSeatError places a seat refusal on the entry it concerns.
func renameSeatError(err error, entry string) error {
	if errs.Reason(err) == "QUANTITY_EXCEEDED" {
		// Seats a racing request took: answered as a shortage seen up front is.
		return errs.Invalid(entry+".quantity", "%s", status.Convert(err).Message())
	}
	if e, ok := errs.As(err); ok && e.Kind == errs.KindFailedPrecondition {
		out := *e
		out.Message = entry + ": " + e.Message
		return &out
	}
	return err
}

func errReturned(deviceID string) error {
	return errs.FailedPrecondition("DEVICE_RETURNED", "device %s was returned; it takes no further changes", deviceID)
}

// ownsDevice reports whether p has full control of d: a tenant-wide principal, or
// one acting for its owner (SPEC DEV-3).
func ownsDevice(p *commonpb.Principal, d Device) bool {
	return ScopeOf(p).Owns(d) || (d.AccountID != "" && authz.CanActFor(p, d.AccountID))
}

// mayMapTo checks that p may map to d at all: owners may; with the account check
// off, anyone who knows the device's ID may map their own line items; an unowned
// device needs devices.claim (it becomes the caller's).
func (a *App) mayMapTo(p *commonpb.Principal, d Device, skip bool) error {
	if d.Status == StatusReturned {
		return errReturned(d.ID)
	}
	if d.AccountID == "" {
		if !authz.Has(p, authz.DevicesClaim) {
			return errs.PermissionDenied(string(authz.DevicesClaim))
		}
		return errInService(d.ID, d.Status)
	}
	if !ownsDevice(p, d) && !skip {
		return errs.NotFound("device", d.ID)
	}
	return errInService(d.ID, d.Status)
}

// errInService refuses seats to a device that is out of service (obsolete, or a
// served client dropped, expired or returned); giving seats back stays allowed.
func errInService(deviceID, status string) error {
	if status == StatusActive || status == StatusNormal {
		return nil
	}
	return errs.FailedPrecondition("DEVICE_STATUS", "device %s is %s; it takes no seats", deviceID, status)
}

// checkItems reads every entry's line item and reports every failure on its entry:
// unknown, not deployed, obsolete, cancelled or expired line items, too few seats,
// the account check, channel partners' rules and the expiry override.
// Too few seats are reported apart (short), for the caller to decide.
func (a *App) checkItems(ctx context.Context, p *commonpb.Principal, d Device, items []MapItem, skip bool) ([]LineItem, errs.Violations, error) {
	var v, short errs.Violations
	now := a.now()
	partner := p.GetPartner() && !p.GetTenantWide()
	// Line items of accounts hidden from the partner do not exist for it (SPEC ACC-3).
	withheld, err := a.withheld(ctx, p)
	if err != nil {
		return nil, short, err
	}
	lis := make([]LineItem, len(items))
	owner := d.AccountID
	for i, it := range items {
		field := fmt.Sprintf("items[%d].", i)
		name := field + "line_item"
		if it.ByActivationID {
			name = field + "activation_id"
		}
		if partner && !skip {
			v.Add(name, "channel partners map line items only when the tenant has turned the account check off")
			continue
		}
		if partner && !it.ByActivationID {
			v.Add(name, "channel partners map by activation_id")
			continue
		}
		li, err := a.ent.LineItem(ctx, it.ActivationID)
		visible := err == nil && authz.CanSeeLineItem(p, authz.LineItemRef{
			AccountID: li.AccountID, EntitlementID: li.EntitlementID, ActivationID: li.ActivationID, ProductLineID: li.ProductLineID,
		}) && !slices.Contains(withheld, li.AccountID)
		if err != nil && errs.Code(err) != codes.NotFound {
			return nil, short, err
		}
		if !visible {
			v.Add(name, "line item %q does not exist", it.ActivationID)
			continue
		}
		lis[i] = li
		switch {
		case li.Cancelled:
			v.Add(name, "line item %s has quantity 0: its order was cancelled or refunded", li.ActivationID)
		case li.Obsolete:
			v.Add(name, "line item %s is obsolete", li.ActivationID)
		case !li.Deployed:
			v.Add(name, "line item %s is not deployed", li.ActivationID)
		case li.ExpireTime != nil && !li.ExpireTime.After(now):
			v.Add(name, "line item %s expired on %s", li.ActivationID, li.ExpireTime.Format(time.DateOnly))
		}
		if owner == "" && i == 0 {
			owner = li.AccountID // the claimer's account (SPEC DEV-4)
		}
		if !skip && li.AccountID != owner {
			v.Add(name, "line item %s belongs to another account than the device's owner", li.ActivationID)
		}
		if it.Quantity > li.Available && !li.OverdraftAllowed {
			short.Add(field+"quantity", "line item %s has %d seats available, %d requested", li.ActivationID, max(li.Available, 0), it.Quantity)
		}
		checkOverride(&v, field+"expire_time", li, it.ExpireAt, now)
	}
	if err := v.Err(); err != nil {
		// Every failure at once, the shortages too.
		e, _ := errs.As(err)
		if se, ok := errs.As(short.Err()); ok {
			e.Violations = append(e.Violations, se.Violations...)
		}
		return nil, short, e
	}
	return lis, short, nil
}

// othersLineItems counts the line items of accounts other than account that live
// mappings hold seats of.
func othersLineItems(live []Held, account string) int {
	foreign := map[string]bool{}
	for _, h := range live {
		if h.AccountID != account {
			foreign[h.ActivationID] = true
		}
	}
	return len(foreign)
}

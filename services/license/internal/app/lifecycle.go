package app

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/duration"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// LifecycleResult is what a lifecycle operation did, or would do.
type LifecycleResult struct {
	Replaced     []Fulfillment
	Created      []Fulfillment
	ValidateOnly bool
}

// LifecycleChange is one lifecycle operation as the store applies it, in one
// transaction: the replaced fulfillments are marked (each only if still MASTER), the
// new ones stored, and where seats go back the fulfillments of an old seat claim move
// to its replacement.
type LifecycleChange struct {
	RequestID string
	// Replaced carry their new support type and state.
	Replaced []Fulfillment
	// Created successors keep their predecessor's ClaimID (moved to its replacement
	// when seats go back); fulfillments of another line item have none yet and get a
	// claim of their own.
	Created []Fulfillment
	// Returned is, per replaced fulfillment ID, the seats it gives back.
	Returned map[string]int64
	// Replacements maps old seat claims to the claims that replace them, and Fresh
	// are new claims; applyLifecycle fills both, the store commits them.
	Replacements map[uuid.UUID]uuid.UUID
	Fresh        []uuid.UUID
}

func marked(f Fulfillment, supportType, state string) Fulfillment {
	f.SupportType, f.State = supportType, state
	return f
}

// Part is how much of a fulfillment's count and overdraft an operation covers; nil
// means all.
type Part struct {
	Count, Overdraft *int64
}

// resolve checks a part against the fulfillment and returns its count and overdraft.
func (p Part) resolve(f Fulfillment, verb string) (count, overdraft int64, err error) {
	count, overdraft = f.Count(), f.Overdraft
	var v errs.Violations
	if p.Count != nil {
		if *p.Count < 0 || *p.Count > f.Count() {
			v.Add("count", "can %s 0-%d of the count", verb, f.Count())
		}
		count = *p.Count
	}
	if p.Overdraft != nil {
		if *p.Overdraft < 0 || *p.Overdraft > f.Overdraft {
			v.Add("overdraft", "can %s 0-%d of the overdraft", verb, f.Overdraft)
		}
		overdraft = *p.Overdraft
	}
	if err := v.Err(); err != nil {
		return 0, 0, err
	}
	if count+overdraft == 0 {
		return 0, 0, errs.Invalid("count", "nothing to %s", verb)
	}
	if !counted[f.ModelType] && count+overdraft != f.Quantity {
		return 0, 0, errs.Invalid("count", "an uncounted license holds one seat per host and can only %s them all", verb)
	}
	return count, overdraft, nil
}

// lifecycleStart reads a MASTER fulfillment the caller may see, its line item, and
// checks the license model's per-period limit of the operation (SPEC LIC-8, LIC-13).
func (a *App) lifecycleStart(ctx context.Context, id, op string, enforcePolicy bool) (Fulfillment, LineItem, error) {
	f, err := a.GetFulfillment(ctx, id)
	if err != nil {
		return f, LineItem{}, err
	}
	if f.SupportType != SupportMaster {
		return f, LineItem{}, errs.FailedPrecondition("FULFILLMENT_NOT_MASTER", "fulfillment %s is no longer live (support type %s); use its successor", f.ID, f.SupportType)
	}
	li, err := a.ent.LineItem(ctx, f.ActivationID)
	if err != nil {
		return f, LineItem{}, err
	}
	if !enforcePolicy {
		return f, li, nil
	}
	policy := li.Policies[op]
	if policy.Allowed <= 0 {
		return f, li, errs.FailedPrecondition("POLICY_FORBIDS", "license model %s does not allow a %s", li.ModelID, op)
	}
	times, err := a.store.LifecycleTimes(ctx, authz.MustTenant(ctx), f.RootID, supportOf[op])
	if err != nil {
		return f, li, err
	}
	used := 0
	for _, t := range times {
		if policy.Period == "" || duration.TermEnd(policy.Period, t).After(a.now()) {
			used++
		}
	}
	if used >= int(policy.Allowed) {
		window := "over the license's life"
		if policy.Period != "" {
			window = "per " + policy.Period
		}
		e := errs.FailedPrecondition("POLICY_LIMIT_REACHED", "fulfillment %s reached its %s limit: %d allowed %s", f.ID, op, policy.Allowed, window)
		e.Metadata = map[string]string{"allowed": strconv.Itoa(int(policy.Allowed)), "used": strconv.Itoa(used), "period": policy.Period}
		return f, li, e
	}
	return f, li, nil
}

var supportOf = map[string]string{OpReturn: SupportReturn, OpRepair: SupportRepair, OpRehost: SupportRehost}

// successor starts a new MASTER fulfillment from f.
func successor(f Fulfillment, requestID, userID string) Fulfillment {
	n := f
	n.ID, n.ParentID, n.RequestID, n.UserID = ids.New("FUL", 3), f.ID, requestID, userID
	n.SupportType, n.State, n.ConsolidatedID = SupportMaster, StateActive, ""
	n.LicenseText, n.LicenseJSON, n.KeyID, n.CreateTime = "", "", "", time.Time{}
	n.Attributes = maps.Clone(f.Attributes)
	return n
}

// withCounts sets a fulfillment's count and overdraft and its OVERDRAFT keyword.
func withCounts(f Fulfillment, count, overdraft int64) Fulfillment {
	f.Quantity, f.Overdraft = count+overdraft, overdraft
	delete(f.Attributes, "OVERDRAFT")
	if overdraft > 0 {
		f.Attributes["OVERDRAFT"] = strconv.FormatInt(overdraft, 10)
	}
	return f
}

// ReturnFulfillment gives all or part of a fulfillment's seats back (SPEC LIC-8).
func (a *App) ReturnFulfillment(ctx context.Context, id string, part Part, validateOnly bool, requestID string) (LifecycleResult, error) {
	if res, done, err := a.replayed(ctx, requestID, validateOnly); done || err != nil {
		return res, err
	}
	f, _, err := a.lifecycleStart(ctx, id, OpReturn, true)
	if err != nil {
		return LifecycleResult{}, err
	}
	count, overdraft, err := part.resolve(f, "return")
	if err != nil {
		return LifecycleResult{}, err
	}
	requestID = orNew(requestID)
	var created []Fulfillment
	if f.Quantity > count+overdraft {
		created = append(created, withCounts(successor(f, requestID, principalUser(ctx)), f.Count()-count, f.Overdraft-overdraft))
	}
	change := LifecycleChange{
		RequestID: requestID, Replaced: []Fulfillment{marked(f, SupportReturn, StateReturned)}, Created: created,
		Returned: map[string]int64{f.ID: count + overdraft},
	}
	return a.applyLifecycle(ctx, change, validateOnly)
}

// RepairFulfillment reissues a fulfillment with changed attributes, same hosts and
// whole count (SPEC LIC-8).
func (a *App) RepairFulfillment(ctx context.Context, id string, attrs FulfilAttributes, validateOnly bool, requestID string) (LifecycleResult, error) {
	var v errs.Violations
	attrs.check(&v)
	if attrs.StartTime != nil {
		v.Add("attributes.start_time", "a repair keeps the start date")
	}
	if err := v.Err(); err != nil {
		return LifecycleResult{}, err
	}
	if res, done, err := a.replayed(ctx, requestID, validateOnly); done || err != nil {
		return res, err
	}
	f, li, err := a.lifecycleStart(ctx, id, OpRepair, true)
	if err != nil {
		return LifecycleResult{}, err
	}
	requestID = orNew(requestID)
	n := successor(f, requestID, principalUser(ctx))
	start, err := licfile.ParseDate(f.Attributes["START"])
	if err != nil {
		start = f.CreateTime
	}
	repaired := licenseAttributes(li, attrs, start, f.Overdraft)
	for k, v := range f.Attributes {
		if _, set := repaired[k]; !set && !attrSetBy(attrs, k) {
			repaired[k] = v // what the request does not change stays as it was
		}
	}
	n.Attributes = repaired
	change := LifecycleChange{RequestID: requestID, Replaced: []Fulfillment{marked(f, SupportRepair, StateObsolete)}, Created: []Fulfillment{n}}
	return a.applyLifecycle(ctx, change, validateOnly)
}

// attrSetBy reports whether a repair request sets the keyword (to a value or off).
func attrSetBy(a FulfilAttributes, keyword string) bool {
	switch keyword {
	case "TS_OK":
		return a.TerminalServer != nil
	case "BORROW":
		return a.BorrowHours != nil
	case "VM_ONLY", "PHYSICAL_ONLY":
		return a.VMPlatforms != ""
	case "USER_BASED", "HOST_BASED":
		return a.Counting != ""
	}
	return false
}

// RehostFulfillment moves all or part of a fulfillment to other hosts (SPEC LIC-8).
func (a *App) RehostFulfillment(ctx context.Context, id string, hosts HostGroup, part Part, validateOnly bool, requestID string) (LifecycleResult, error) {
	return a.rehost(ctx, id, hosts, part, validateOnly, requestID, true)
}

// rehost is RehostFulfillment; portal-admin operations are not held to the model's
// per-period limits (enforcePolicy false).
func (a *App) rehost(ctx context.Context, id string, hosts HostGroup, part Part, validateOnly bool, requestID string, enforcePolicy bool) (LifecycleResult, error) {
	if res, done, err := a.replayed(ctx, requestID, validateOnly); done || err != nil {
		return res, err
	}
	f, li, err := a.lifecycleStart(ctx, id, OpRehost, enforcePolicy)
	if err != nil {
		return LifecycleResult{}, err
	}
	count, overdraft, err := part.resolve(f, "rehost")
	if err != nil {
		return LifecycleResult{}, err
	}
	placed, err := a.placeHosts(ctx, li, []HostGroup{hosts})
	if err != nil {
		return LifecycleResult{}, renameFields(err, "hosts[0].server_host_ids", "hosts.server_host_ids", "hosts[0].nodelocked_host_ids", "hosts.nodelocked_host_ids", "hosts[0]", "hosts")
	}
	servers, nodes := placed[0].strings()
	if !counted[f.ModelType] && int64(len(nodes)) != f.Quantity {
		return LifecycleResult{}, errs.Invalid("hosts.nodelocked_host_ids", "an uncounted license moves to as many hosts as it has: %d", f.Quantity)
	}
	if equalHosts(servers, f.ServerHostIDs) && equalHosts(nodes, f.NodeHostIDs) {
		return LifecycleResult{}, errs.Invalid("hosts", "the license is on these hosts already")
	}
	requestID = orNew(requestID)
	moved := withCounts(successor(f, requestID, principalUser(ctx)), count, overdraft)
	moved.ServerHostIDs, moved.NodeHostIDs = servers, nodes
	moved.HostID = firstHost(servers, nodes)
	created := []Fulfillment{moved}
	if f.Quantity > count+overdraft {
		created = append(created, withCounts(successor(f, requestID, principalUser(ctx)), f.Count()-count, f.Overdraft-overdraft))
	}
	change := LifecycleChange{RequestID: requestID, Replaced: []Fulfillment{marked(f, SupportRehost, StateObsolete)}, Created: created}
	return a.applyLifecycle(ctx, change, validateOnly)
}

func equalHosts(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func firstHost(servers, nodes []string) string {
	if len(servers) > 0 {
		return servers[0]
	}
	return nodes[0]
}

func orNew(requestID string) string {
	if requestID == "" {
		return ids.New("REQ", 4)
	}
	return requestID
}

// replayed returns the first result of a request ID already applied.
func (a *App) replayed(ctx context.Context, requestID string, validateOnly bool) (LifecycleResult, bool, error) {
	if requestID == "" || validateOnly {
		return LifecycleResult{}, false, nil
	}
	if len(requestID) > 128 {
		return LifecycleResult{}, false, errs.Invalid("request_id", "must be at most 128 characters")
	}
	p, _ := authz.FromContext(ctx)
	replaced, created, err := a.store.LifecycleByRequest(ctx, p.GetTenantId(), requestID)
	if errs.IsKind(err, errs.KindNotFound) {
		return LifecycleResult{}, false, nil
	}
	if err != nil {
		return LifecycleResult{}, false, err
	}
	for _, f := range replaced {
		if !authz.CanSeeLineItem(p, authz.LineItemRef{AccountID: f.AccountID, EntitlementID: f.EntitlementID, ActivationID: f.ActivationID, ProductLineID: f.ProductLineID}) {
			return LifecycleResult{}, false, errRequestReused()
		}
	}
	return LifecycleResult{Replaced: replaced, Created: created}, true, nil
}

// applyLifecycle signs the new licenses, takes and gives back seats through claims
// (a replacing claim per old claim that gives seats back, a fresh claim per new
// fulfillment of another line item), stores the change with them in one transaction
// and confirms them; any failure gives back what was taken and restores what was
// replaced. Verify stops before anything is signed or taken.
func (a *App) applyLifecycle(ctx context.Context, c LifecycleChange, validateOnly bool) (LifecycleResult, error) {
	if validateOnly {
		return LifecycleResult{Replaced: c.Replaced, Created: c.Created, ValidateOnly: true}, nil
	}
	tenant := authz.MustTenant(ctx)
	key, err := a.store.ActiveKey(ctx, tenant)
	if err != nil {
		return LifecycleResult{}, err
	}
	for i := range c.Created {
		if err := a.sign(ctx, &c.Created[i], key, tenant, nil); err != nil {
			return LifecycleResult{}, err
		}
	}
	claims, err := a.lifecycleClaims(ctx, tenant, &c)
	if err != nil {
		return LifecycleResult{}, err
	}
	var begun []uuid.UUID
	abort := func() {
		for _, id := range begun {
			a.seats.Abort(ctx, tenant, id)
		}
	}
	for _, claim := range claims {
		if _, err := a.seats.Begin(ctx, claim); err != nil {
			abort()
			return LifecycleResult{}, err
		}
		begun = append(begun, claim.ID)
	}
	if err := a.store.ApplyLifecycle(ctx, tenant, c); err != nil {
		if replaced, created, perr := a.store.LifecycleByRequest(ctx, tenant, c.RequestID); perr == nil {
			return LifecycleResult{Replaced: replaced, Created: created}, nil
		}
		if !errors.Is(err, seats.ErrClaimReleased) {
			abort()
		}
		return LifecycleResult{}, err
	}
	for _, id := range begun {
		a.seats.ConfirmNow(ctx, id) // returned seats are free when the operation answers
	}
	replaced, created, err := a.store.LifecycleByRequest(ctx, tenant, c.RequestID)
	return LifecycleResult{Replaced: replaced, Created: created}, err
}

// lifecycleClaims works out the seat claims of a change: for each old claim whose
// fulfillments give seats back, a claim replacing it with what its live fulfillments
// keep; for each new fulfillment without a claim, a fresh one.
func (a *App) lifecycleClaims(ctx context.Context, tenant string, c *LifecycleChange) ([]seats.Claim, error) {
	replacedIDs := map[string]bool{}
	for _, r := range c.Replaced {
		replacedIDs[r.ID] = true
	}
	var claims []seats.Claim
	c.Replacements = map[uuid.UUID]uuid.UUID{}
	for _, r := range c.Replaced {
		if c.Returned[r.ID] == 0 {
			continue
		}
		if _, done := c.Replacements[r.ClaimID]; done {
			continue
		}
		live, err := a.store.LiveOfClaim(ctx, tenant, r.ClaimID)
		if err != nil {
			return nil, err
		}
		// The claim keeps what its live fulfillments keep, and the seats its
		// fulfillments gave to upgrades (before, or in this change): those stay
		// consumed on this line item.
		keep, err := a.store.UpgradedOfClaim(ctx, tenant, r.ClaimID)
		if err != nil {
			return nil, err
		}
		for _, l := range live {
			if !replacedIDs[l.ID] {
				keep += l.Quantity
			}
		}
		for _, n := range c.Created {
			if n.ClaimID == r.ClaimID {
				keep += n.Quantity
			}
		}
		for _, u := range c.Replaced {
			if u.ClaimID == r.ClaimID {
				keep += u.UpgradedSeats
			}
		}
		old := r.ClaimID
		id := ids.FromKey(tenant, "license", c.RequestID+"/replaces/"+old.String())
		claims = append(claims, seats.Claim{ID: id, TenantID: tenant, ActivationID: r.ActivationID, Quantity: keep, Replaces: &old})
		c.Replacements[old] = id
	}
	for i := range c.Created {
		n := &c.Created[i]
		if next, ok := c.Replacements[n.ClaimID]; ok {
			n.ClaimID = next
			continue
		}
		if n.ClaimID == uuid.Nil {
			n.ClaimID = ids.FromKey(tenant, "license", c.RequestID+"/new/"+strconv.Itoa(i))
			claims = append(claims, seats.Claim{ID: n.ClaimID, TenantID: tenant, ActivationID: n.ActivationID, Quantity: n.Quantity, Start: n.Start})
			c.Fresh = append(c.Fresh, n.ClaimID)
		}
	}
	return claims, nil
}

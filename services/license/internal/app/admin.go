package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/quantity"
)

// ServerCount is a server (or triad) and the seats of a product it should hold.
type ServerCount struct {
	Servers []string
	Count   int64
}

// RehostMove is one step of a batch rehost or host transfer: Count seats (and
// Overdraft) of a fulfillment move from one host group to another.
type RehostMove struct {
	FulfillmentID    string
	From, To         HostGroup
	Count, Overdraft int64
}

// AdminResult is what a batch rehost or host transfer did, or would do.
type AdminResult struct {
	Moves        []RehostMove
	Created      []Fulfillment
	Consolidated []ConsolidatedLicense
	ValidateOnly bool
}

// BatchRehost redistributes the counted licenses of products of one account among
// servers (SPEC LIC-11): per product the target counts must add up to what the
// account holds; seats stay where they are as far as the targets allow, the rest move
// from the largest fulfillments first. validate_only returns the moves for review;
// run again to make them. Each move is a rehost under a request ID derived from the
// batch's and the fulfillment it moves, so a retry after a failure finishes the batch. Portal admins are not held
// to the models' rehost limits.
func (a *App) BatchRehost(ctx context.Context, accountID string, targets map[string][]ServerCount, validateOnly bool, requestID string) (AdminResult, error) {
	if len(targets) == 0 {
		return AdminResult{}, errs.Invalid("targets", "name at least one product and its servers")
	}
	tenant := authz.MustTenant(ctx)
	requestID = orNew(requestID)
	products := make([]string, 0, len(targets))
	for p := range targets {
		products = append(products, p)
	}
	slices.Sort(products)
	var moves []RehostMove
	for _, product := range products {
		planned, err := a.planRedistribution(ctx, tenant, accountID, product, targets[product])
		if err != nil {
			return AdminResult{}, err
		}
		moves = append(moves, planned...)
	}
	if validateOnly {
		for i, m := range moves { // the same checks the moves will meet
			f, err := a.store.GetFulfillment(ctx, tenant, m.FulfillmentID)
			if err != nil {
				return AdminResult{}, err
			}
			li, err := a.ent.LineItem(ctx, f.ActivationID)
			if err != nil {
				return AdminResult{}, err
			}
			if _, err := a.placeHosts(ctx, li, []HostGroup{m.To}); err != nil {
				return AdminResult{}, renameFields(err, "hosts[0]", fmt.Sprintf("moves[%d]", i))
			}
		}
		return AdminResult{Moves: moves, ValidateOnly: true}, nil
	}
	// A fulfillment that gives to several servers is replaced at each move: the next
	// move takes from the successor that stayed.
	current := map[string]string{}
	var created []Fulfillment
	for _, m := range moves {
		id := m.FulfillmentID
		if next, ok := current[id]; ok {
			id = next
		}
		count, overdraft := m.Count, m.Overdraft
		// The move's request ID names the fulfillment it rehosts (each is rehosted
		// once, then replaced): a retry plans only the moves left, from other
		// fulfillments, and none of them is taken for a move of the first run.
		r, err := a.rehost(ctx, id, m.To, Part{Count: &count, Overdraft: &overdraft}, false, requestID+"/"+id, false)
		if err != nil {
			return AdminResult{}, err
		}
		created = append(created, r.Created[0])
		if len(r.Created) > 1 {
			current[m.FulfillmentID] = r.Created[1].ID
			created = append(created, r.Created[1])
		}
	}
	return AdminResult{Moves: moves, Created: created}, nil
}

// planRedistribution works out the moves that bring one product's counted seats of
// an account to the target counts per server.
func (a *App) planRedistribution(ctx context.Context, tenant, accountID, product string, targets []ServerCount) ([]RehostMove, error) {
	field := "targets[" + product + "]"
	live, err := a.store.LiveOf(ctx, tenant, accountID, product, "")
	if err != nil {
		return nil, err
	}
	live = slices.DeleteFunc(live, func(f Fulfillment) bool { return len(f.ServerHostIDs) == 0 })
	want := map[string]int64{}
	var order []string
	var wanted int64
	for i, t := range targets {
		if t.Count < 0 || t.Count > quantity.Max || len(t.Servers) == 0 {
			return nil, errs.Invalid(fmt.Sprintf("%s.servers[%d]", field, i), "name a server and a count of 0-%d", quantity.Max)
		}
		k := strings.Join(t.Servers, " ")
		if _, dup := want[k]; dup {
			return nil, errs.Invalid(fmt.Sprintf("%s.servers[%d]", field, i), "names a server twice")
		}
		want[k] = t.Count
		order = append(order, k)
		wanted += t.Count
	}
	have := map[string]int64{}
	var held int64
	for _, f := range live {
		have[strings.Join(f.ServerHostIDs, " ")] += f.Count()
		held += f.Count()
	}
	if held != wanted {
		return nil, errs.Invalid(field, "account %s holds %d counted seats of %s; the targets add up to %d", accountID, held, product, wanted)
	}
	// Deficits in the order the targets name them.
	type deficit struct {
		servers []string
		need    int64
	}
	var deficits []deficit
	for i, k := range order {
		if need := want[k] - have[k]; need > 0 {
			deficits = append(deficits, deficit{servers: targets[i].Servers, need: need})
		}
	}
	var moves []RehostMove
	surplus := map[string]int64{}
	for k, h := range have {
		surplus[k] = h - want[k]
	}
	for _, f := range live {
		k := strings.Join(f.ServerHostIDs, " ")
		left := min(surplus[k], f.Count())
		surplus[k] -= left
		rest := f.Count() // what stays on the fulfillment (its successor) after each move
		for left > 0 && len(deficits) > 0 {
			d := &deficits[0]
			m := min(left, d.need)
			move := RehostMove{
				FulfillmentID: f.ID, From: HostGroup{Servers: f.ServerHostIDs, Nodes: f.NodeHostIDs},
				To: HostGroup{Servers: d.servers, Nodes: f.NodeHostIDs}, Count: m,
			}
			left -= m
			d.need -= m
			if rest -= m; rest == 0 {
				move.Overdraft = f.Overdraft // the last of the count moves: its overdraft goes along
			}
			moves = append(moves, move)
			if d.need == 0 {
				deficits = deficits[1:]
			}
		}
	}
	return moves, nil
}

// TransferHostLicenses moves every live license of an account from a dead host to a
// new one, optionally consolidating them there (SPEC LIC-11): each is rehosted whole
// with the dead host replaced, under request IDs derived from the transfer's, so a
// retry finishes it. Portal admins are not held to the models' rehost limits.
func (a *App) TransferHostLicenses(ctx context.Context, accountID, from, to string, consolidateThem, validateOnly bool, requestID string) (AdminResult, error) {
	var v errs.Violations
	v.Require("from_host_id", from)
	v.Require("to_host_id", to)
	if err := v.Err(); err != nil {
		return AdminResult{}, err
	}
	tenant := authz.MustTenant(ctx)
	fromHost, err := licfile.ParseHostID(from, licfile.Rules{RelaxIP: true})
	if err != nil {
		return AdminResult{}, hostIDInvalid("from_host_id", err)
	}
	toHost, err := a.parseHost(ctx, "to_host_id", to, nil, nil)
	if err != nil {
		return AdminResult{}, err
	}
	if fromHost.String() == toHost.String() {
		return AdminResult{}, errs.Invalid("to_host_id", "is the host the licenses are on")
	}
	if known, err := a.store.HostKnown(ctx, tenant, accountID, fromHost.String()); err != nil || !known {
		if err == nil {
			err = errs.NotFound("host", fromHost.String())
		}
		return AdminResult{}, err
	}
	live, err := a.store.LiveOf(ctx, tenant, accountID, "", fromHost.String())
	if err != nil {
		return AdminResult{}, err
	}
	// A replay answers with the licenses the first call moved (found by the request
	// IDs it derived), and finishes what it left on the host.
	var done []LifecycleResult
	if requestID != "" && !validateOnly {
		if done, err = a.movedFromHost(ctx, tenant, accountID, fromHost.String(), requestID); err != nil {
			return AdminResult{}, err
		}
	}
	if len(live) == 0 && len(done) == 0 {
		return AdminResult{}, errs.FailedPrecondition("HOST_HAS_NO_LICENSES", "account %s has no live license on %s", accountID, fromHost)
	}
	requestID = orNew(requestID)
	swap := func(hosts []string) []string {
		out := slices.Clone(hosts)
		for i, h := range out {
			if h == fromHost.String() {
				out[i] = toHost.String()
			}
		}
		return out
	}
	res := AdminResult{ValidateOnly: validateOnly}
	var onServer []string
	for _, r := range done {
		old := r.Replaced[0]
		res.Moves = append(res.Moves, RehostMove{
			FulfillmentID: old.ID, From: HostGroup{Servers: old.ServerHostIDs, Nodes: old.NodeHostIDs},
			To: HostGroup{Servers: r.Created[0].ServerHostIDs, Nodes: r.Created[0].NodeHostIDs}, Count: old.Count(), Overdraft: old.Overdraft,
		})
		res.Created = append(res.Created, r.Created...)
		if len(r.Created[0].ServerHostIDs) > 0 {
			onServer = append(onServer, r.Created[0].ID)
		}
	}
	for _, f := range live {
		move := RehostMove{
			FulfillmentID: f.ID, From: HostGroup{Servers: f.ServerHostIDs, Nodes: f.NodeHostIDs},
			To: HostGroup{Servers: swap(f.ServerHostIDs), Nodes: swap(f.NodeHostIDs)}, Count: f.Count(), Overdraft: f.Overdraft,
		}
		res.Moves = append(res.Moves, move)
		r, err := a.rehost(ctx, f.ID, move.To, Part{}, validateOnly, requestID+"/"+f.ID, false)
		if err != nil {
			return AdminResult{}, err
		}
		if validateOnly {
			continue
		}
		res.Created = append(res.Created, r.Created...)
		if len(r.Created[0].ServerHostIDs) > 0 {
			onServer = append(onServer, r.Created[0].ID)
		}
	}
	if consolidateThem && !validateOnly && len(onServer) >= 2 { // a replay finds the first consolidation
		if res.Consolidated, err = a.ConsolidateFulfillments(ctx, onServer, false, requestID+"/consolidate"); err != nil {
			return AdminResult{}, err
		}
	}
	return res, nil
}

// movedFromHost returns what an earlier TransferHostLicenses with the request ID
// did: the rehosts, under the request IDs it derived, of the account's licenses
// that were on the host.
func (a *App) movedFromHost(ctx context.Context, tenant, accountID, hostID, requestID string) ([]LifecycleResult, error) {
	rehosted, err := a.store.OfHost(ctx, tenant, accountID, hostID, SupportRehost)
	if err != nil {
		return nil, err
	}
	var out []LifecycleResult
	for _, f := range rehosted {
		r, found, err := a.replayed(ctx, requestID+"/"+f.ID, false)
		if err != nil {
			return nil, err
		}
		if found && len(r.Replaced) > 0 && len(r.Created) > 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

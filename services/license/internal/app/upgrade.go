package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// GridRow is one host of an upgrade grid: the copies the parent line item's live
// fulfillments hold there.
type GridRow struct {
	Servers, Nodes []string
	Copies         int64
	Fulfillments   []Fulfillment
}

func (r GridRow) key() string { return hostKey(r.Servers, r.Nodes) }

func hostKey(servers, nodes []string) string {
	return strings.Join(servers, " ") + "|" + strings.Join(nodes, " ")
}

// UpgradeGrid is the "copies available" grid of an upgrade line item (SPEC LIC-9).
type UpgradeGrid struct {
	Line, Parent LineItem
	Rows         []GridRow
}

// Upgrade kinds of line items and the support type each gives the fulfillments it
// replaces.
var upgradeKinds = map[string]string{"upgrade": SupportUpgrade, "upsell": SupportUpsell, "renewal": SupportRenew}

// GetUpgradeGrid groups the superseded line item's live fulfillments by host.
func (a *App) GetUpgradeGrid(ctx context.Context, activationID string) (UpgradeGrid, error) {
	p, _ := authz.FromContext(ctx)
	li, err := a.ent.LineItem(ctx, activationID)
	if err != nil {
		return UpgradeGrid{}, err
	}
	if !authz.CanSeeLineItem(p, li.ref()) {
		return UpgradeGrid{}, errs.NotFound("line item", activationID)
	}
	if _, ok := upgradeKinds[li.Kind]; !ok || li.Supersedes == "" {
		return UpgradeGrid{}, errs.FailedPrecondition("NOT_AN_UPGRADE", "line item %s is a %s line item; only upgrade, upsell and renewal line items move copies", activationID, li.Kind)
	}
	parent, err := a.ent.LineItem(ctx, li.Supersedes)
	if err != nil {
		return UpgradeGrid{}, err
	}
	live, err := a.store.LiveOfLineItem(ctx, p.GetTenantId(), parent.ActivationID)
	if err != nil {
		return UpgradeGrid{}, err
	}
	grid := UpgradeGrid{Line: li, Parent: parent}
	at := map[string]int{}
	for _, f := range live {
		k := hostKey(f.ServerHostIDs, f.NodeHostIDs)
		i, ok := at[k]
		if !ok {
			i = len(grid.Rows)
			at[k] = i
			grid.Rows = append(grid.Rows, GridRow{Servers: f.ServerHostIDs, Nodes: f.NodeHostIDs})
		}
		grid.Rows[i].Copies += f.Count()
		grid.Rows[i].Fulfillments = append(grid.Rows[i].Fulfillments, f)
	}
	slices.SortFunc(grid.Rows, func(x, y GridRow) int { return strings.Compare(x.key(), y.key()) })
	return grid, nil
}

// UpgradeMove asks to move Count copies from the grid row of these hosts.
type UpgradeMove struct {
	Servers, Nodes []string
	Count          int64
}

// UpgradeFulfillments moves copies per host from the superseded line item to an
// upgrade, upsell or renewal line item (SPEC LIC-9): for each host the system takes
// the copies from the largest fulfillments first; each of those is marked UPGRADE,
// UPSELL or RENEW and what it keeps goes on a new MASTER of the parent; the moved
// copies become a MASTER of the new line item, whose seats are checked now. The
// parent's seats behind the moved copies stay consumed there (the customer bought
// them once), so the chain's live seats never exceed what was bought; only an
// overdraft left without copies goes back. All of it, seats included, happens at
// once or not at all.
func (a *App) UpgradeFulfillments(ctx context.Context, activationID string, moves []UpgradeMove, validateOnly bool, requestID string) (LifecycleResult, error) {
	if len(moves) == 0 || len(moves) > maxHostGroups {
		return LifecycleResult{}, errs.Invalid("moves", "give 1-%d moves", maxHostGroups)
	}
	if res, done, err := a.replayed(ctx, requestID, validateOnly); done || err != nil {
		return res, err
	}
	grid, err := a.GetUpgradeGrid(ctx, activationID)
	if err != nil {
		return LifecycleResult{}, err
	}
	li := grid.Line
	if err := activatable(li); err != nil {
		return LifecycleResult{}, err
	}
	product, err := a.ent.Product(ctx, li.ProductID)
	if err != nil {
		return LifecycleResult{}, err
	}
	if li.Kind == "renewal" && li.ProductID != grid.Parent.ProductID {
		return LifecycleResult{}, errs.FailedPrecondition("RENEWAL_CHANGES_PRODUCT", "renewal %s is for %s, its parent for %s", li.ActivationID, li.ProductID, grid.Parent.ProductID)
	}
	rows := map[string]GridRow{}
	for _, r := range grid.Rows {
		rows[r.key()] = r
	}
	requestID = orNew(requestID)
	userID := principalUser(ctx)
	start := a.now()
	if li.StartTime != nil {
		start = *li.StartTime
	}
	change := LifecycleChange{RequestID: requestID, Returned: map[string]int64{}}
	var total int64
	seen := map[string]bool{}
	for i, m := range moves {
		field := fmt.Sprintf("moves[%d]", i)
		row, ok := rows[hostKey(m.Servers, m.Nodes)]
		switch {
		case !ok:
			return LifecycleResult{}, errs.Invalid(field, "line item %s has no live fulfillment on these hosts", grid.Parent.ActivationID)
		case seen[row.key()]:
			return LifecycleResult{}, errs.Invalid(field, "names the same hosts as another move")
		case m.Count < 1 || m.Count > row.Copies:
			return LifecycleResult{}, errs.Invalid(field+".count", "can move 1-%d copies from these hosts", row.Copies)
		}
		seen[row.key()] = true
		if _, err := a.placeHosts(ctx, li, []HostGroup{{Servers: m.Servers, Nodes: m.Nodes}}); err != nil {
			return LifecycleResult{}, renameFields(err, "hosts[0]", field)
		}
		left := m.Count
		var first string
		for _, f := range row.Fulfillments {
			if left == 0 {
				break
			}
			take := min(left, f.Count())
			if !counted[f.ModelType] && take != f.Count() {
				return LifecycleResult{}, errs.Invalid(field+".count", "uncounted licenses move whole: %d copies here", row.Copies)
			}
			left -= take
			if first == "" {
				first = f.ID
			}
			// The copies move; the seats they stood for stay consumed on the parent
			// (the purchase did not grow), held by the same claim.
			up := marked(f, upgradeKinds[li.Kind], StateObsolete)
			up.UpgradedSeats = take
			change.Replaced = append(change.Replaced, up)
			if take == f.Count() {
				if f.Overdraft > 0 {
					change.Returned[f.ID] = f.Overdraft // overdraft seats were never bought: they go back
				}
				continue
			}
			change.Created = append(change.Created, withCounts(successor(f, requestID, userID), f.Count()-take, f.Overdraft))
		}
		n := Fulfillment{
			ID: ids.New("FUL", 3), ActivationID: li.ActivationID, AccountID: li.AccountID, EntitlementID: li.EntitlementID, ProductLineID: li.ProductLineID,
			ServerHostIDs: m.Servers, NodeHostIDs: m.Nodes, HostID: firstHost(m.Servers, m.Nodes), Quantity: m.Count,
			State: StateActive, SupportType: SupportMaster, ProductID: li.ProductID, Version: product.Version,
			ModelType: li.ModelType, Technology: product.Technology, ExpireTime: li.ExpireTime, ParentID: first,
			RequestID: requestID, UserID: userID, Start: start, ClaimID: uuid.Nil,
			Attributes: licenseAttributes(li, FulfilAttributes{}, start, 0),
		}
		change.Created = append(change.Created, n)
		total += m.Count
	}
	if err := checkAvailable(li, total); err != nil {
		return LifecycleResult{}, err
	}
	return a.applyLifecycle(ctx, change, validateOnly)
}

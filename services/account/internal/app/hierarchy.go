package app

import (
	"context"
	"slices"
	"strconv"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Link is a parent → child edge of the account hierarchy.
type Link struct{ Parent, Child string }

// TreeNode is an account with its sub-accounts.
type TreeNode struct {
	Account  Account
	Children []*TreeNode
}

// HierarchyStore is the persistence of the account hierarchy.
type HierarchyStore interface {
	LinkAccounts(ctx context.Context, tenant, parent, child string) error
	UnlinkAccounts(ctx context.Context, tenant, parent, child string) error
	// HiddenFromPartners returns those of ids whose accounts are not visible to
	// partners.
	HiddenFromPartners(ctx context.Context, tenant string, ids []string) ([]string, error)
	Descendants(ctx context.Context, tenant string, roots []string) ([]string, error)
	Links(ctx context.Context, tenant, root string, maxDepth int) ([]Link, error)
	Parents(ctx context.Context, tenant string, ids []string) (map[string][]string, error)
	GetAccounts(ctx context.Context, tenant string, ids []string) ([]Account, error)
	DeleteAccounts(ctx context.Context, tenant string, ids []string) error
}

// Holdings counts what accounts hold in other services.
type Holdings interface {
	Entitlements(ctx context.Context, accountIDs []string) (int64, error)
	Devices(ctx context.Context, accountIDs []string) (int64, error)
}

// LinkSubAccount makes child a sub-account of parent (SPEC ACC-2). The caller must
// manage both accounts.
func (a *App) LinkSubAccount(ctx context.Context, parent, child string) error {
	if err := a.manageable(ctx, parent, child); err != nil {
		return err
	}
	if parent == HomeAccountID || child == HomeAccountID {
		// The producer's own account stands apart from its customers' trees.
		return errs.FailedPrecondition("HOME_ACCOUNT", "the producer home account cannot be linked")
	}
	return a.store.LinkAccounts(ctx, authz.MustTenant(ctx), parent, child)
}

// UnlinkSubAccount removes a parent → child link.
func (a *App) UnlinkSubAccount(ctx context.Context, parent, child string) error {
	if err := a.manageable(ctx, parent, child); err != nil {
		return err
	}
	return a.store.UnlinkAccounts(ctx, authz.MustTenant(ctx), parent, child)
}

// manageable checks that the accounts exist and the caller may act for them.
func (a *App) manageable(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if _, err := a.GetAccount(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// AccountTree returns root with its sub-accounts down to maxDepth levels (0: all).
func (a *App) AccountTree(ctx context.Context, root string, maxDepth int) (*TreeNode, error) {
	if maxDepth < 0 || maxDepth > 50 {
		return nil, errs.Invalid("max_depth", "must be between 0 and 50")
	}
	if maxDepth == 0 {
		maxDepth = 50
	}
	rootAcc, err := a.GetAccount(ctx, root)
	if err != nil {
		return nil, err
	}
	tenant := authz.MustTenant(ctx)
	links, err := a.store.Links(ctx, tenant, root, maxDepth)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, l := range links {
		ids = append(ids, l.Child)
	}
	accounts, err := a.store.GetAccounts(ctx, tenant, ids)
	if err != nil {
		return nil, err
	}
	byID := map[string]Account{root: rootAcc}
	for _, acc := range accounts {
		byID[acc.ID] = withhold(ctx, acc)
	}
	var build func(id string, depth int) *TreeNode
	build = func(id string, depth int) *TreeNode {
		n := &TreeNode{Account: byID[id]}
		if depth >= maxDepth {
			return n
		}
		for _, l := range links {
			if l.Parent == id {
				n.Children = append(n.Children, build(l.Child, depth+1))
			}
		}
		return n
	}
	return build(root, 0), nil
}

// DeleteAccount deletes an account, or with subtree also every sub-account that has
// no parent outside the deleted set (SPEC ACC-4). Accounts that still hold
// entitlements or devices are refused unless a producer administrator forces it.
// It returns the deleted accounts, the root first.
func (a *App) DeleteAccount(ctx context.Context, id string, subtree, force bool) ([]string, error) {
	if _, err := a.GetAccount(ctx, id); err != nil {
		return nil, err
	}
	if id == HomeAccountID {
		return nil, errs.FailedPrecondition("HOME_ACCOUNT", "the producer home account cannot be deleted")
	}
	p, _ := authz.FromContext(ctx)
	if force && !p.GetTenantWide() {
		return nil, &errs.Error{Kind: errs.KindPermissionDenied, Reason: "FORCE_NEEDS_PRODUCER", Message: "only a producer administrator may force a deletion"}
	}
	tenant := p.GetTenantId()
	doomed := []string{id}
	if subtree {
		below, err := a.store.Descendants(ctx, tenant, []string{id})
		if err != nil {
			return nil, err
		}
		parents, err := a.store.Parents(ctx, tenant, below)
		if err != nil {
			return nil, err
		}
		// Grow the set until it is closed: a sub-account goes only when every one of
		// its parents goes too; one that another tree still holds stays.
		for grew := true; grew; {
			grew = false
			for _, d := range below {
				if slices.Contains(doomed, d) {
					continue
				}
				if !slices.ContainsFunc(parents[d], func(par string) bool { return !slices.Contains(doomed, par) }) {
					doomed = append(doomed, d)
					grew = true
				}
			}
		}
	}
	for _, d := range doomed {
		if !authz.CanActFor(p, d) {
			return nil, errs.NotFound("account", d)
		}
	}
	if !force {
		ents, err := a.holdings.Entitlements(ctx, doomed)
		if err != nil {
			return nil, err
		}
		devs, err := a.holdings.Devices(ctx, doomed)
		if err != nil {
			return nil, err
		}
		if ents > 0 || devs > 0 {
			e := errs.FailedPrecondition("ACCOUNT_IN_USE", "the accounts still hold %d entitlement(s) and %d device(s); move them first, or have a producer administrator force the deletion", ents, devs)
			e.Metadata = map[string]string{"entitlements": strconv.FormatInt(ents, 10), "devices": strconv.FormatInt(devs, 10)}
			return nil, e
		}
	}
	if err := a.store.DeleteAccounts(ctx, tenant, doomed); err != nil {
		return nil, err
	}
	return doomed, nil
}

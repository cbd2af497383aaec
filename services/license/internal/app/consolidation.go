package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// Shipment is one delivery of a consolidated license.
type Shipment struct {
	To     []string
	UserID string
	Time   time.Time
}

// maxConsolidated bounds one consolidation request.
const maxConsolidated = 1000

// groupForFiles sorts fulfillments into license files (SPEC LIC-6): counted ones by
// server host and license technology; uncounted ones join the one server file of
// their technology, or make a file of their own. A server's file may hold floating
// counted with node-locked counted, or floating counted with uncounted licenses, not
// node-locked counted with uncounted ones.
func groupForFiles(fs []Fulfillment) ([][]int, error) {
	var order []string
	groups := map[string][]int{}
	add := func(k string, i int) {
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	var loose []int
	for i, f := range fs {
		if f.Technology == TechTrustedStorage {
			return nil, errs.FailedPrecondition("TRUSTED_STORAGE", "fulfillment %s uses trusted storage, which cannot be consolidated", f.ID)
		}
		if len(f.ServerHostIDs) == 0 {
			loose = append(loose, i)
			continue
		}
		add(strings.Join(f.ServerHostIDs, " ")+"|"+f.Technology, i)
	}
	for _, i := range loose {
		var servers []string
		for _, k := range order {
			if strings.HasSuffix(k, "|"+fs[i].Technology) {
				servers = append(servers, k)
			}
		}
		if len(servers) == 1 {
			add(servers[0], i)
		} else {
			add("|"+fs[i].Technology, i) // several servers or none: a file of node-locked licenses
		}
	}
	out := make([][]int, 0, len(order))
	for _, k := range order {
		g := groups[k]
		types := map[string]bool{}
		for _, i := range g {
			types[fs[i].ModelType] = true
		}
		if types["nodelocked_counted"] && (types["nodelocked_uncounted"] || types["floating_uncounted"]) {
			return nil, errs.FailedPrecondition("CONSOLIDATION_MIXES_MODELS",
				"node-locked counted and uncounted licenses cannot share server %s's file", strings.TrimSuffix(k, "|"+fs[g[0]].Technology))
		}
		out = append(out, g)
	}
	return out, nil
}

// buildConsolidated makes one license file of the members: the server header, every
// member's increments re-signed under it, and the JSON form.
func buildConsolidated(members []Fulfillment, key SigningKey, tenant string, now time.Time) (ConsolidatedLicense, error) {
	cl := ConsolidatedLicense{ID: ids.New("CON", 3), AccountID: members[0].AccountID, Technology: members[0].Technology, KeyID: key.ID, CreateTime: now}
	var merged *licfile.License
	for _, m := range members {
		lic, err := licfile.Parse(m.LicenseText)
		if err != nil {
			return cl, fmt.Errorf("fulfillment %s: %w", m.ID, err)
		}
		if merged == nil || (len(merged.Servers) == 0 && len(lic.Servers) > 0) {
			header := &licfile.License{Servers: lic.Servers, Vendor: lic.Vendor, UseServer: lic.UseServer}
			if merged != nil {
				header.Increments = merged.Increments
			}
			merged = header
		}
		merged.Increments = append(merged.Increments, lic.Increments...)
		if len(m.ServerHostIDs) > 0 {
			cl.ServerHostIDs = m.ServerHostIDs
		}
		cl.FulfillmentIDs = append(cl.FulfillmentIDs, m.ID)
	}
	doc, err := licfile.SignForms(merged, key.Signer)
	if err != nil {
		return cl, err
	}
	cl.LicenseText = merged.Format("Tessera consolidated license " + cl.ID + " (" + tenant + "), issued " + licfile.Date(now))
	cl.LicenseJSON = string(doc)
	return cl, nil
}

// consolidate makes, at activation, one consolidated license per server host that
// two or more of the new fulfillments share (SPEC LIC-6).
func consolidate(fs []Fulfillment, key SigningKey, tenant string, now time.Time) ([]ConsolidatedLicense, error) {
	groups, err := groupForFiles(fs)
	if err != nil {
		return nil, err
	}
	var out []ConsolidatedLicense
	for _, g := range groups {
		if len(g) < 2 || len(fs[g[0]].ServerHostIDs) == 0 {
			continue
		}
		members := make([]Fulfillment, len(g))
		for j, i := range g {
			members[j] = fs[i]
		}
		cl, err := buildConsolidated(members, key, tenant, now)
		if err != nil {
			return nil, err
		}
		for _, i := range g {
			fs[i].ConsolidatedID = cl.ID
		}
		out = append(out, cl)
	}
	return out, nil
}

// ConsolidateFulfillments combines MASTER fulfillments of one account, none of them
// consolidated yet, into one file per server host and technology (SPEC LIC-6).
func (a *App) ConsolidateFulfillments(ctx context.Context, ids []string, validateOnly bool, requestID string) ([]ConsolidatedLicense, error) {
	if len(ids) < 2 || len(ids) > maxConsolidated {
		return nil, errs.Invalid("fulfillments", "name 2-%d fulfillments", maxConsolidated)
	}
	tenant := authz.MustTenant(ctx)
	if requestID != "" && !validateOnly {
		if cls, err := a.store.ConsolidatedByRequest(ctx, tenant, requestID); err == nil && len(cls) > 0 {
			return cls, nil
		} else if err != nil {
			return nil, err
		}
	}
	members := make([]Fulfillment, len(ids))
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			return nil, errs.Invalid(fmt.Sprintf("fulfillments[%d]", i), "is listed twice")
		}
		f, err := a.GetFulfillment(ctx, id)
		if err != nil {
			return nil, err
		}
		field := fmt.Sprintf("fulfillments[%d]", i)
		switch {
		case f.SupportType != SupportMaster:
			return nil, errs.Invalid(field, "fulfillment %s is no longer live (support type %s)", f.ID, f.SupportType)
		case f.ConsolidatedID != "" && a.inCurrentConsolidation(ctx, tenant, f.ConsolidatedID):
			return nil, errs.Invalid(field, "fulfillment %s is in consolidated license %s already", f.ID, f.ConsolidatedID)
		case f.AccountID != members[0].AccountID && i > 0:
			return nil, errs.Invalid(field, "belongs to account %s; a consolidation takes one account's fulfillments (%s)", f.AccountID, members[0].AccountID)
		}
		members[i] = f
	}
	groups, err := groupForFiles(members)
	if err != nil {
		return nil, err
	}
	if validateOnly {
		out := make([]ConsolidatedLicense, len(groups))
		for j, g := range groups {
			out[j] = ConsolidatedLicense{AccountID: members[0].AccountID, Technology: members[g[0]].Technology}
			for _, i := range g {
				out[j].FulfillmentIDs = append(out[j].FulfillmentIDs, members[i].ID)
				if len(members[i].ServerHostIDs) > 0 {
					out[j].ServerHostIDs = members[i].ServerHostIDs
				}
			}
		}
		return out, nil
	}
	key, err := a.store.ActiveKey(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var cls []ConsolidatedLicense
	for _, g := range groups {
		part := make([]Fulfillment, len(g))
		for j, i := range g {
			part[j] = members[i]
		}
		cl, err := buildConsolidated(part, key, tenant, a.now())
		if err != nil {
			return nil, err
		}
		cls = append(cls, cl)
	}
	requestID = orNew(requestID)
	if err := a.store.CreateConsolidated(ctx, tenant, requestID, cls); err != nil {
		if prev, perr := a.store.ConsolidatedByRequest(ctx, tenant, requestID); perr == nil && len(prev) > 0 {
			return prev, nil
		}
		return nil, err
	}
	return a.store.ConsolidatedByRequest(ctx, tenant, requestID)
}

// GetConsolidatedLicense reads a consolidated license the caller may see.
func (a *App) GetConsolidatedLicense(ctx context.Context, id string) (ConsolidatedLicense, error) {
	p, _ := authz.FromContext(ctx)
	c, err := a.store.GetConsolidated(ctx, p.GetTenantId(), id)
	if err != nil {
		return c, err
	}
	if !authz.CanSeeLineItem(p, authz.LineItemRef{AccountID: c.AccountID}) || p.GetScopeEntitlementId() != "" || p.GetScopeActivationId() != "" {
		return ConsolidatedLicense{}, errs.NotFound("consolidated license", id)
	}
	return c, nil
}

// ListConsolidatedLicenses lists the consolidated licenses of the caller's accounts.
func (a *App) ListConsolidatedLicenses(ctx context.Context, q filter.Query) ([]ConsolidatedLicense, string, error) {
	p, _ := authz.FromContext(ctx)
	scope := scopeOf(p)
	if scope.EntitlementID != "" || scope.ActivationID != "" || (!scope.All && len(scope.AccountIDs) == 0) {
		return nil, "", nil
	}
	return a.store.ListConsolidated(ctx, p.GetTenantId(), scope, q)
}

// EmailConsolidatedLicense mails a consolidated license and records the shipment.
func (a *App) EmailConsolidatedLicense(ctx context.Context, id string, to []string) (ConsolidatedLicense, error) {
	if err := checkRecipients(to); err != nil {
		return ConsolidatedLicense{}, err
	}
	c, err := a.GetConsolidatedLicense(ctx, id)
	if err != nil {
		return c, err
	}
	text := fmt.Sprintf("Hello,\n\nattached as LicenseFile.lic is consolidated license %s for server %s, holding fulfillments %s.\n",
		c.ID, strings.Join(c.ServerHostIDs, " "), strings.Join(c.FulfillmentIDs, ", "))
	if err := a.store.RecordShipment(ctx, authz.MustTenant(ctx), c, to, principalUser(ctx), "Consolidated license "+c.ID, text); err != nil {
		return c, err
	}
	return a.store.GetConsolidated(ctx, authz.MustTenant(ctx), id)
}

// RehostConsolidatedLicense moves a consolidated license to another server host:
// each counted member is rehosted (its own policy applies), then the successors and
// the node-locked members are consolidated anew. Every step is idempotent under the
// request ID, so a retry after a failure finishes the job.
func (a *App) RehostConsolidatedLicense(ctx context.Context, id string, servers []string, validateOnly bool, requestID string) ([]ConsolidatedLicense, error) {
	c, err := a.GetConsolidatedLicense(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(c.ServerHostIDs) == 0 {
		return nil, errs.FailedPrecondition("NO_SERVER", "consolidated license %s has no server host to move", id)
	}
	if c.ReplacedBy != "" {
		return nil, errs.FailedPrecondition("CONSOLIDATED_REPLACED", "consolidated license %s was moved to %s already", id, c.ReplacedBy)
	}
	requestID = orNew(requestID)
	var next []string
	for _, fid := range c.FulfillmentIDs {
		f, err := a.GetFulfillment(ctx, fid)
		if err != nil {
			return nil, err
		}
		if len(f.ServerHostIDs) == 0 {
			next = append(next, f.ID) // node-locked members stay where they are
			continue
		}
		r, err := a.RehostFulfillment(ctx, f.ID, HostGroup{Servers: servers}, Part{}, validateOnly, requestID+"/"+f.ID)
		if err != nil {
			return nil, renameFields(err, "hosts.server_host_ids", "server_host_ids", "hosts", "server_host_ids")
		}
		for _, n := range r.Created {
			next = append(next, n.ID)
		}
	}
	if validateOnly {
		return []ConsolidatedLicense{{AccountID: c.AccountID, ServerHostIDs: servers, Technology: c.Technology}}, nil
	}
	cls, err := a.ConsolidateFulfillments(ctx, next, false, requestID+"/consolidate")
	if err != nil {
		return nil, err
	}
	if err := a.store.MarkConsolidatedReplaced(ctx, authz.MustTenant(ctx), id, cls[0].ID); err != nil {
		return nil, err
	}
	return cls, nil
}

// inCurrentConsolidation reports whether consolidated license id still holds its
// members (not moved by a rehost, not retired by a member's change). When in doubt
// it answers yes: the store refuses current members under their row locks anyway.
func (a *App) inCurrentConsolidation(ctx context.Context, tenant, id string) bool {
	c, err := a.store.GetConsolidated(ctx, tenant, id)
	return err != nil || c.Current()
}

// ReissueConsolidated keeps a server's consolidated file current after one of its
// members changed on its own (SPEC LIC-6): when the retired event arrives, the
// members still live (MASTER and still in the retired license) are consolidated
// again into a new file together with the changed member's successors that stayed
// on the same server for the same account (what a partial return, a repair or a
// partial rehost leaves there), and the retired license names the new file in
// replaced_by. Fewer than two fulfillments need no file. The request ID comes from
// the retired license, so a redelivered event re-issues once; if a member was
// consolidated or changed meanwhile (the customer acted first), there is nothing
// to do.
func (a *App) ReissueConsolidated(ctx context.Context, tenant string, ev *eventspb.ConsolidatedLicenseRetired) error {
	ctx = authz.ForTenant(ctx, tenant)
	old, err := a.store.GetConsolidated(ctx, tenant, ev.GetConsolidatedLicenseId())
	if errs.IsKind(err, errs.KindNotFound) || (err == nil && old.ReplacedBy != "") {
		return nil
	}
	if err != nil {
		return err
	}
	requestID := "reissue/" + old.ID
	done, err := a.store.ConsolidatedByRequest(ctx, tenant, requestID)
	if err != nil {
		return err
	}
	if len(done) > 0 { // re-issued before a crash kept the link from being written
		return a.store.MarkConsolidatedReplaced(ctx, tenant, old.ID, done[0].ID)
	}
	var live, successors []string
	for _, id := range old.FulfillmentIDs {
		f, err := a.store.GetFulfillment(ctx, tenant, id)
		if err != nil {
			return err
		}
		if f.SupportType == SupportMaster && f.ConsolidatedID == old.ID {
			live = append(live, id)
		}
		if id != ev.GetFulfillmentId() || len(old.ServerHostIDs) == 0 {
			continue
		}
		next, err := a.store.LiveSuccessors(ctx, tenant, f.RootID, f.ID)
		if err != nil {
			return err
		}
		for _, n := range next {
			if n.AccountID == old.AccountID && n.ConsolidatedID == "" && slices.Equal(n.ServerHostIDs, old.ServerHostIDs) {
				successors = append(successors, n.ID)
			}
		}
	}
	// With the successors if they fit the file (same technology, models that may
	// share it), else the live members alone.
	for _, ids := range [][]string{append(slices.Clone(live), successors...), live} {
		if len(ids) < 2 {
			continue
		}
		cls, err := a.ConsolidateFulfillments(ctx, ids, false, requestID)
		if errs.IsKind(err, errs.KindInvalid) || errs.IsKind(err, errs.KindFailedPrecondition) {
			continue
		}
		if err != nil {
			return err
		}
		return a.store.MarkConsolidatedReplaced(ctx, tenant, old.ID, cls[0].ID)
	}
	return nil
}

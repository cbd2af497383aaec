package app

import (
	"context"
	"strings"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/quantity"
)

// Activation is a request for a license of one line item for one host.
type Activation struct {
	ActivationID string
	HostID       string
	Quantity     int64
	RequestID    string
}

// Activate turns seats of a line item into a signed license for one host: the
// single-host form of ActivateBatch (SPEC LIC-1). With a request ID it applies at
// most once: a retry returns the first fulfillment.
func (a *App) Activate(ctx context.Context, in Activation) (Fulfillment, error) {
	var v errs.Violations
	v.Require("line_item", in.ActivationID)
	v.Require("host_id", in.HostID)
	quantity.Check(&v, "quantity", in.Quantity, 1)
	if err := v.Err(); err != nil {
		return Fulfillment{}, err
	}
	res, err := a.ActivateBatch(ctx, BatchActivation{
		Lines:     []ActivationLine{{ActivationID: in.ActivationID, Counts: []HostCount{{Group: 0, Count: in.Quantity}}}},
		Hosts:     []HostGroup{{Host: in.HostID}},
		RequestID: in.RequestID,
	})
	if err != nil {
		return Fulfillment{}, renameFields(err, "hosts[0]", "host_id", "lines[0].counts[0]", "quantity", "lines[0]", "line_item")
	}
	if f := res.Fulfillments[0]; f.Count() != in.Quantity {
		return Fulfillment{}, errRequestReused() // a replay asking for another quantity
	}
	return res.Fulfillments[0], nil
}

// renameFields names a request's own fields in errors a shared check raised: pairs of
// field prefix and the name to use instead, the first matching pair winning.
func renameFields(err error, pairs ...string) error {
	e, ok := errs.As(err)
	if !ok {
		return err
	}
	for i, v := range e.Violations {
		for p := 0; p+1 < len(pairs); p += 2 {
			if strings.HasPrefix(v.Field, pairs[p]) {
				e.Violations[i].Field = pairs[p+1]
				break
			}
		}
	}
	return e
}

// GetFulfillment reads a fulfillment the caller may see.
func (a *App) GetFulfillment(ctx context.Context, id string) (Fulfillment, error) {
	p, _ := authz.FromContext(ctx)
	f, err := a.store.GetFulfillment(ctx, p.GetTenantId(), id)
	if err != nil {
		return f, err
	}
	ref := authz.LineItemRef{AccountID: f.AccountID, EntitlementID: f.EntitlementID, ActivationID: f.ActivationID, ProductLineID: f.ProductLineID}
	if !authz.CanSeeLineItem(p, ref) {
		return Fulfillment{}, errs.NotFound("fulfillment", id)
	}
	return f, nil
}

// ListSigningKeys returns the tenant's keys, creating the first one if needed.
func (a *App) ListSigningKeys(ctx context.Context) ([]SigningKey, error) {
	tenant := authz.MustTenant(ctx)
	if _, err := a.store.ActiveKey(ctx, tenant); err != nil {
		return nil, err
	}
	return a.store.ListKeys(ctx, tenant)
}

// RotateSigningKey makes a new key of the algorithm ("" → Ed25519) the tenant's
// signing key; licenses signed before keep verifying with the old public key.
func (a *App) RotateSigningKey(ctx context.Context, algorithm string) (SigningKey, error) {
	if algorithm == "" {
		algorithm = AlgEd25519
	}
	if algorithm != AlgEd25519 && algorithm != AlgES256 {
		return SigningKey{}, errs.Invalid("algorithm", "must be ED25519 or ES256")
	}
	return a.store.RotateKey(ctx, authz.MustTenant(ctx), algorithm)
}

// ListPublicKeys lists a tenant's public keys for offline verification; it needs
// no principal and never creates a key.
func (a *App) ListPublicKeys(ctx context.Context, tenant string) ([]SigningKey, error) {
	if tenant == "" {
		return nil, errs.Invalid("tenant_id", "is required")
	}
	return a.store.ListKeys(ctx, tenant)
}

// vendorName derives the license files' vendor name from the tenant ID.
func vendorName(tenant string) string {
	v := strings.ReplaceAll(tenant, "-", "_")
	if len(v) > 20 {
		v = v[:20]
	}
	return v
}

func (li LineItem) ref() authz.LineItemRef {
	return authz.LineItemRef{AccountID: li.AccountID, EntitlementID: li.EntitlementID, ActivationID: li.ActivationID, ProductLineID: li.ProductLineID}
}

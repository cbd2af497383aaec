package app

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/duration"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// Activation is a request for a license.
type Activation struct {
	ActivationID string
	HostID       string
	Quantity     int64
	RequestID    string
}

// counted models need a license server and carry a seat count.
var counted = map[string]bool{"floating_counted": true, "nodelocked_counted": true, "trusted_server": true}

// Activate turns seats of a line item into a signed license for one host (SPEC
// LIC-*, DESIGN decision 3). With a request ID it applies at most once: a retry
// returns the first fulfillment.
func (a *App) Activate(ctx context.Context, in Activation) (Fulfillment, error) {
	var v errs.Violations
	v.Require("line_item", in.ActivationID)
	v.Require("host_id", in.HostID)
	if in.Quantity <= 0 {
		v.Add("quantity", "must be positive")
	}
	if len(in.RequestID) > 128 {
		v.Add("request_id", "must be at most 128 characters")
	}
	if err := v.Err(); err != nil {
		return Fulfillment{}, err
	}
	p, _ := authz.FromContext(ctx)
	tenant := p.GetTenantId()
	if in.RequestID == "" {
		in.RequestID = ids.New("REQ", 4)
	} else if f, err := a.store.FulfillmentByRequest(ctx, tenant, in.RequestID); err == nil {
		return f, nil
	} else if !errs.IsKind(err, errs.KindNotFound) {
		return Fulfillment{}, err
	}

	li, err := a.ent.LineItem(ctx, in.ActivationID)
	if err != nil {
		return Fulfillment{}, err
	}
	if !authz.CanSeeLineItem(p, li.ref()) {
		return Fulfillment{}, errs.NotFound("line item", in.ActivationID)
	}
	role := li.hostRole()
	host, err := a.parseHost(ctx, "host_id", in.HostID, &role, li.AllowedHostKinds)
	if err != nil {
		return Fulfillment{}, err
	}
	if !counted[li.ModelType] && in.Quantity != 1 {
		return Fulfillment{}, errs.Invalid("quantity", "an uncounted license model activates one host at a time")
	}
	features, err := a.ent.Features(ctx, li.ProductID)
	if err != nil {
		return Fulfillment{}, err
	}
	key, err := a.store.ActiveKey(ctx, tenant)
	if err != nil {
		return Fulfillment{}, err
	}

	f := Fulfillment{
		ID: ids.New("FUL", 3), ActivationID: li.ActivationID, AccountID: li.AccountID, HostID: host.String(),
		Quantity: in.Quantity, State: StateActive, KeyID: key.ID, RequestID: in.RequestID,
		ClaimID: ids.FromKey(tenant, "license", in.RequestID), UserID: p.GetUserId(),
	}
	spec := licfile.Spec{
		Vendor: vendorName(tenant), Serial: f.ID, Issued: a.now(), Start: a.now(), Expiry: li.ExpireTime,
	}
	if li.StartTime != nil {
		spec.Start = *li.StartTime
	} else if li.StartAtFirstActivation && li.ExpireAfter != "" {
		// This activation starts the term; the entitlement service records the same
		// start when it reserves the seats.
		spec.Expiry = duration.TermEnd(li.ExpireAfter, spec.Start)
	}
	if counted[li.ModelType] {
		spec.Count = in.Quantity
		spec.Servers = []licfile.HostID{host}
	} else {
		spec.NodeHosts = []licfile.HostID{host}
	}
	for _, ft := range features {
		spec.Features = append(spec.Features, licfile.Feature{Name: ft.Name, Version: ft.Version})
	}
	if len(spec.Features) == 0 {
		return Fulfillment{}, errs.FailedPrecondition("PRODUCT_HAS_NO_FEATURES", "product %s has no features to license", li.ProductID)
	}
	signed, err := licfile.Generate(spec, key.Signer)
	if err != nil {
		return Fulfillment{}, err
	}
	f.LicenseText, f.LicenseJSON = signed.Text, string(signed.JSON)

	// The ledger re-checks the owner when it takes the seats, so a line item moved to
	// another account meanwhile is not drawn on.
	var only []string
	switch {
	case p.GetKind() == commonpb.PrincipalKind_PRINCIPAL_KIND_ENTITLEMENT_KEY:
		only = []string{li.AccountID}
	case !p.GetTenantWide():
		only = p.GetAccountIds()
	}
	claim := seats.Claim{ID: f.ClaimID, TenantID: tenant, ActivationID: li.ActivationID, Quantity: in.Quantity, AccountIDs: only}
	if _, err := a.seats.Begin(ctx, claim); err != nil {
		return Fulfillment{}, err
	}
	if err := a.store.CreateFulfillment(ctx, tenant, f); err != nil {
		// A concurrent retry with the same request ID may have won the race.
		if prev, perr := a.store.FulfillmentByRequest(ctx, tenant, in.RequestID); perr == nil {
			return prev, nil
		}
		if !errors.Is(err, seats.ErrClaimReleased) {
			a.seats.Abort(ctx, tenant, f.ClaimID)
		}
		return Fulfillment{}, err
	}
	a.seats.Confirm(ctx, f.ClaimID)
	attrs := metric.WithAttributes(attribute.String("tenant", tenant))
	activations.Add(ctx, 1, attrs)
	activatedSeats.Add(ctx, in.Quantity, attrs)
	return a.store.GetFulfillment(ctx, tenant, f.ID)
}

// GetFulfillment reads a fulfillment the caller may see.
func (a *App) GetFulfillment(ctx context.Context, id string) (Fulfillment, error) {
	p, _ := authz.FromContext(ctx)
	f, err := a.store.GetFulfillment(ctx, p.GetTenantId(), id)
	if err != nil {
		return f, err
	}
	ref := authz.LineItemRef{AccountID: f.AccountID, ActivationID: f.ActivationID}
	if p.GetScopeEntitlementId() != "" || len(p.GetProductLines()) > 0 {
		// Fulfillments record neither their entitlement nor product line; the line
		// item does.
		li, err := a.ent.LineItem(ctx, f.ActivationID)
		if err != nil {
			return Fulfillment{}, err
		}
		ref = li.ref()
	}
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

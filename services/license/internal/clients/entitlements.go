// Package clients adapts neighbour services' gRPC clients to the interfaces the
// license use cases declare.
package clients

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/license/internal/app"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/coalesce"
	"github.com/tessera-dev/tessera/services/platform/ttlcache"
)

// Entitlements answers app.Entitlements from the entitlement service. License
// models and products are cached for catalogTTL: they change rarely and are read on
// every activation. Line items (seats, start dates) are always read fresh; callers
// asking for one line item at once share reads that began after they asked.
type Entitlements struct {
	Ent       entitlementpb.EntitlementServiceClient
	Catalog   entitlementpb.CatalogServiceClient
	models    *ttlcache.Cache[string, *entitlementpb.LicenseModel]
	products  *ttlcache.Cache[string, app.Product]
	lineItems *coalesce.Group[string, *entitlementpb.LineItem]
}

const (
	catalogTTL          = 30 * time.Second
	lineItemReadTimeout = 10 * time.Second
)

// NewEntitlements returns the adapter over the entitlement service's clients.
func NewEntitlements(ent entitlementpb.EntitlementServiceClient, catalog entitlementpb.CatalogServiceClient) Entitlements {
	return Entitlements{
		Ent: ent, Catalog: catalog,
		models: ttlcache.New[string, *entitlementpb.LicenseModel](catalogTTL), products: ttlcache.New[string, app.Product](catalogTTL),
		lineItems: &coalesce.Group[string, *entitlementpb.LineItem]{},
	}
}

var modelTypes = map[entitlementpb.LicenseModelType]string{
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED: "nodelocked_uncounted",
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_NODELOCKED_COUNTED:   "nodelocked_counted",
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_FLOATING_UNCOUNTED:   "floating_uncounted",
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_FLOATING_COUNTED:     "floating_counted",
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_TRUSTED_CLIENT:       "trusted_client",
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_TRUSTED_SERVER:       "trusted_server",
	entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_EMBEDDED:             "embedded",
}

// LineItem reads a line item with what activation needs of its license model.
func (e Entitlements) LineItem(ctx context.Context, activationID string) (app.LineItem, error) {
	// The service reads line items as itself for the tenant, so a read serves every
	// caller of the tenant; the caller's own visibility is checked by the use case.
	shared := context.WithoutCancel(ctx)
	li, err := e.lineItems.Do(ctx, authz.MustTenant(ctx)+"/"+activationID, func() (*entitlementpb.LineItem, error) {
		rctx, cancel := context.WithTimeout(shared, lineItemReadTimeout)
		defer cancel()
		return e.Ent.GetLineItem(rctx, &entitlementpb.GetLineItemRequest{Name: "lineItems/" + activationID})
	})
	if err != nil {
		return app.LineItem{}, err
	}
	lm, err := e.models.GetOr(authz.MustTenant(ctx)+"/"+li.GetLicenseModel(), func() (*entitlementpb.LicenseModel, error) {
		return e.Catalog.GetLicenseModel(ctx, &entitlementpb.GetLicenseModelRequest{Name: li.GetLicenseModel()})
	})
	if err != nil {
		return app.LineItem{}, err
	}
	d := lm.GetDefaults()
	out := app.LineItem{
		ActivationID: li.GetActivationId(), EntitlementID: strings.TrimPrefix(li.GetEntitlement(), "entitlements/"),
		ProductLineID: strings.TrimPrefix(li.GetProductLine(), "productLines/"), AccountID: strings.TrimPrefix(li.GetAccount(), "accounts/"),
		ProductID: strings.TrimPrefix(li.GetProduct(), "products/"), ModelID: strings.TrimPrefix(li.GetLicenseModel(), "licenseModels/"),
		ModelType: modelTypes[lm.GetType()], AllowedHostKinds: lm.GetAllowedHostIdTypes(),
		Available: li.GetAvailable(), Quantity: li.GetQuantity(), OverdraftAllowed: li.GetOverdraftAllowed(), Cancelled: li.GetCancelled(),
		Deployed:   li.GetState() == entitlementpb.LineItemState_LINE_ITEM_STATE_DEPLOYED,
		Kind:       strings.ToLower(strings.TrimPrefix(li.GetType().String(), "LINE_ITEM_TYPE_")),
		Supersedes: strings.TrimPrefix(li.GetSupersedes(), "lineItems/"),
		Defaults: app.ModelDefaults{
			BorrowHours: d.GetBorrowHours(), TerminalServer: d.GetTsOk(), VMPlatforms: d.GetVmPlatforms(), TimeZone: d.GetTimeZone(),
			Platforms: d.GetPlatforms(), Issuer: d.GetIssuer(), Notice: d.GetNotice(), VendorString: d.GetVendorString(), UseServer: d.GetUseServer(),
		},
		Policies: map[string]app.Policy{
			app.OpReturn: {Allowed: lm.GetReturns().GetAllowed(), Period: lm.GetReturns().GetPeriod()},
			app.OpRepair: {Allowed: lm.GetRepairs().GetAllowed(), Period: lm.GetRepairs().GetPeriod()},
			app.OpRehost: {Allowed: lm.GetRehosts().GetAllowed(), Period: lm.GetRehosts().GetPeriod()},
		},
	}
	out.StartAtFirstActivation, out.ExpireAfter = li.GetStartAtFirstActivation(), li.GetExpireAfter()
	if li.GetStartTime() != nil {
		t := li.GetStartTime().AsTime()
		out.StartTime = &t
	}
	if li.GetExpireTime() != nil {
		t := li.GetExpireTime().AsTime()
		out.ExpireTime = &t
	}
	return out, nil
}

var technologies = map[entitlementpb.LicenseTechnology]string{
	entitlementpb.LicenseTechnology_LICENSE_TECHNOLOGY_CERTIFICATE:     app.TechCertificate,
	entitlementpb.LicenseTechnology_LICENSE_TECHNOLOGY_TRUSTED_STORAGE: app.TechTrustedStorage,
	entitlementpb.LicenseTechnology_LICENSE_TECHNOLOGY_EMBEDDED:        app.TechEmbedded,
	entitlementpb.LicenseTechnology_LICENSE_TECHNOLOGY_CUSTOM:          app.TechCustom,
}

// Product reads a product's version, license technology and features.
func (e Entitlements) Product(ctx context.Context, productID string) (app.Product, error) {
	return e.products.GetOr(authz.MustTenant(ctx)+"/"+productID, func() (app.Product, error) {
		p, err := e.Catalog.GetProduct(ctx, &entitlementpb.GetProductRequest{Name: "products/" + productID})
		if err != nil {
			return app.Product{}, err
		}
		out := app.Product{ID: productID, Version: p.GetVersion(), Technology: technologies[p.GetLicenseTechnology()]}
		for _, f := range p.GetFeatures() {
			out.Features = append(out.Features, app.Feature{Name: f.GetName(), Version: f.GetVersion()})
		}
		return out, nil
	})
}

// MoveSeats moves seats a confirmed reservation holds to another account.
func (e Entitlements) MoveSeats(ctx context.Context, reservation uuid.UUID, quantity int64, toAccount string, pool bool, next uuid.UUID) (string, error) {
	r, err := e.Ent.MoveSeats(ctx, &entitlementpb.MoveSeatsRequest{
		ReservationId: reservation.String(), Quantity: quantity, ToAccount: "accounts/" + toAccount, Pool: pool, NewReservationId: next.String(),
	})
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(r.GetLineItem(), "lineItems/"), nil
}

// ReleaseSeats gives back what a reservation holds.
func (e Entitlements) ReleaseSeats(ctx context.Context, reservation uuid.UUID) error {
	_, err := e.Ent.ReleaseSeats(ctx, &entitlementpb.ReleaseSeatsRequest{ReservationId: reservation.String()})
	return err
}

// Package clients adapts neighbour services' gRPC clients to the interfaces the
// license use cases declare.
package clients

import (
	"context"
	"strings"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/license/internal/app"
)

// Entitlements answers app.Entitlements from the entitlement service.
type Entitlements struct {
	Ent     entitlementpb.EntitlementServiceClient
	Catalog entitlementpb.CatalogServiceClient
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

// LineItem reads a line item and its license model's type.
func (e Entitlements) LineItem(ctx context.Context, activationID string) (app.LineItem, error) {
	li, err := e.Ent.GetLineItem(ctx, &entitlementpb.GetLineItemRequest{Name: "lineItems/" + activationID})
	if err != nil {
		return app.LineItem{}, err
	}
	lm, err := e.Catalog.GetLicenseModel(ctx, &entitlementpb.GetLicenseModelRequest{Name: li.GetLicenseModel()})
	if err != nil {
		return app.LineItem{}, err
	}
	out := app.LineItem{
		ActivationID: li.GetActivationId(), EntitlementID: strings.TrimPrefix(li.GetEntitlement(), "entitlements/"),
		ProductLineID: strings.TrimPrefix(li.GetProductLine(), "productLines/"), AccountID: strings.TrimPrefix(li.GetAccount(), "accounts/"),
		ProductID: strings.TrimPrefix(li.GetProduct(), "products/"), ModelType: modelTypes[lm.GetType()],
		AllowedHostKinds: lm.GetAllowedHostIdTypes(),
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

// Features reads a product's features.
func (e Entitlements) Features(ctx context.Context, productID string) ([]app.Feature, error) {
	p, err := e.Catalog.GetProduct(ctx, &entitlementpb.GetProductRequest{Name: "products/" + productID})
	if err != nil {
		return nil, err
	}
	out := make([]app.Feature, 0, len(p.GetFeatures()))
	for _, f := range p.GetFeatures() {
		out = append(out, app.Feature{Name: f.GetName(), Version: f.GetVersion()})
	}
	return out, nil
}

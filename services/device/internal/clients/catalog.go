package clients

import (
	"context"
	"strings"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
)

// Catalog reads products and line items from the entitlement service for the
// device's license preview (SPEC DEV-12).
type Catalog struct {
	Catalog      entitlementpb.CatalogServiceClient
	Entitlements entitlementpb.EntitlementServiceClient
}

// ProductFeatures returns a product's features.
func (c Catalog) ProductFeatures(ctx context.Context, productID string) ([]app.ProductFeature, error) {
	p, err := c.Catalog.GetProduct(ctx, &entitlementpb.GetProductRequest{Name: "products/" + productID})
	if err != nil {
		return nil, err
	}
	out := make([]app.ProductFeature, len(p.GetFeatures()))
	for i, f := range p.GetFeatures() {
		out[i] = app.ProductFeature{Name: f.GetName(), Version: f.GetVersion()}
	}
	return out, nil
}

// LineItemProduct returns the product of a line item.
func (c Catalog) LineItemProduct(ctx context.Context, activationID string) (string, error) {
	li, err := c.Entitlements.GetLineItem(ctx, &entitlementpb.GetLineItemRequest{Name: "lineItems/" + activationID})
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(li.GetProduct(), "products/"), nil
}

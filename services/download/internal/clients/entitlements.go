// Package clients adapts the entitlement service's gRPC client to the interface the
// download use cases declare.
package clients

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
)

// Entitlements implements app.Entitlements.
type Entitlements struct {
	Ent     entitlementpb.EntitlementServiceClient
	Catalog entitlementpb.CatalogServiceClient
}

// ProductExists reports whether the tenant's catalog has the product.
func (e Entitlements) ProductExists(ctx context.Context, productID string) (bool, error) {
	_, err := e.Catalog.GetProduct(ctx, &entitlementpb.GetProductRequest{Name: "products/" + productID})
	if status.Code(err) == codes.NotFound {
		return false, nil
	}
	return err == nil, err
}

// HasProductAccess asks whether one of the accounts is entitled to the product.
func (e Entitlements) HasProductAccess(ctx context.Context, productID string, accountIDs []string) (bool, error) {
	r, err := e.Ent.CheckProductAccess(ctx, &entitlementpb.CheckProductAccessRequest{Product: "products/" + productID, AccountIds: accountIDs})
	if err != nil {
		return false, err
	}
	return r.GetAllowed(), nil
}

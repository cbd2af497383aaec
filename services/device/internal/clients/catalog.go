package clients

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/ttlcache"
)

// maxLineProducts bounds the products read for one product line.
const maxLineProducts = 10_000

// Catalog answers what the device use cases need of the entitlement service: the
// line items of an entitlement (key principals) and the products of product lines
// (product-line limited users) for visibility; a line item's product and a product's
// features for the license preview (SPEC DEV-12).
type Catalog struct {
	Ent      entitlementpb.EntitlementServiceClient
	Products entitlementpb.CatalogServiceClient
	lines    *ttlcache.Cache[string, []string]
}

// NewCatalog returns the adapter over the entitlement service's clients.
func NewCatalog(ent entitlementpb.EntitlementServiceClient, catalog entitlementpb.CatalogServiceClient) Catalog {
	return Catalog{Ent: ent, Products: catalog, lines: ttlcache.New[string, []string](settingsTTL)}
}

// EntitlementLineItems are the activation IDs of the entitlement's line items; none
// for an entitlement that does not exist.
func (c Catalog) EntitlementLineItems(ctx context.Context, entitlementID string) ([]string, error) {
	e, err := c.Ent.GetEntitlement(ctx, &entitlementpb.GetEntitlementRequest{Name: "entitlements/" + entitlementID})
	if status.Code(err) == codes.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(e.GetLineItems()))
	for _, li := range e.GetLineItems() {
		out = append(out, li.GetActivationId())
	}
	return out, nil
}

// ProductsInLines are the IDs of the products in the product lines, each line's
// list kept for a while: a product moved to another line is seen so within it.
func (c Catalog) ProductsInLines(ctx context.Context, productLines []string) ([]string, error) {
	var out []string
	for _, line := range productLines {
		ids, err := c.lines.GetOr(authz.MustTenant(ctx)+"\x00"+line, func() ([]string, error) { return c.productsOf(ctx, line) })
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
	}
	return out, nil
}

func (c Catalog) productsOf(ctx context.Context, line string) ([]string, error) {
	filter := `product_line = "productLines/` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(line) + `"`
	var out []string
	token := ""
	for len(out) < maxLineProducts {
		resp, err := c.Products.ListProducts(ctx, &entitlementpb.ListProductsRequest{Filter: filter, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, p := range resp.GetProducts() {
			out = append(out, p.GetProductId())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	return out, nil
}

// ProductFeatures returns a product's features.
func (c Catalog) ProductFeatures(ctx context.Context, productID string) ([]app.ProductFeature, error) {
	p, err := c.Products.GetProduct(ctx, &entitlementpb.GetProductRequest{Name: "products/" + productID})
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
	li, err := c.Ent.GetLineItem(ctx, &entitlementpb.GetLineItemRequest{Name: "lineItems/" + activationID})
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(li.GetProduct(), "products/"), nil
}

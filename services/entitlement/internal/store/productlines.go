package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

var productLines = catalogTable[app.ProductLine]{
	table: "product_lines", resource: "product line",
	cols: `id, display_name, description, coalesce(request_id, ''), created_at`,
	scan: func(row pgx.Row) (app.ProductLine, error) {
		var pl app.ProductLine
		err := row.Scan(&pl.ID, &pl.DisplayName, &pl.Description, &pl.RequestID, &pl.CreateTime)
		return pl, err
	},
}

// CreateProductLine inserts pl, or returns the line created earlier with the same
// request ID.
func (s *Store) CreateProductLine(ctx context.Context, tenant string, pl app.ProductLine) (app.ProductLine, error) {
	return productLines.create(ctx, s, tenant, pl.ID, pl.DisplayName, pl.RequestID,
		`INSERT INTO product_lines (tenant_id, id, display_name, description, request_id) VALUES ($1, $2, $3, $4, $5)`,
		tenant, pl.ID, pl.DisplayName, pl.Description, pg.NullIfEmpty(pl.RequestID))
}

// GetProductLine reads one product line.
func (s *Store) GetProductLine(ctx context.Context, tenant, id string) (app.ProductLine, error) {
	return productLines.get(ctx, s, tenant, id)
}

// ListProductLines lists a page of a tenant's product lines by ID.
func (s *Store) ListProductLines(ctx context.Context, tenant string, q filter.Query) ([]app.ProductLine, string, error) {
	return productLines.page(ctx, s, tenant, filter.Schema{}, q, func(pl app.ProductLine) string { return pl.ID })
}

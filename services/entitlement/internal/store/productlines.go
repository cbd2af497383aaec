package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

const productLineCols = `id, display_name, description, coalesce(request_id, ''), created_at`

func scanProductLine(row pgx.Row) (app.ProductLine, error) {
	var pl app.ProductLine
	err := row.Scan(&pl.ID, &pl.DisplayName, &pl.Description, &pl.RequestID, &pl.CreateTime)
	return pl, err
}

// CreateProductLine inserts pl, or returns the line created earlier with the same
// request ID.
func (s *Store) CreateProductLine(ctx context.Context, tenant string, pl app.ProductLine) (app.ProductLine, error) {
	_, err := s.pool.Exec(ctx, `INSERT INTO product_lines (tenant_id, id, display_name, description, request_id) VALUES ($1, $2, $3, $4, $5)`,
		tenant, pl.ID, pl.DisplayName, pl.Description, pg.NullIfEmpty(pl.RequestID))
	if e := errs.FromPostgres(err); e != nil && e.Kind == errs.KindAlreadyExists {
		if pl.RequestID != "" {
			prev, perr := scanProductLine(s.pool.QueryRow(ctx, `SELECT `+productLineCols+` FROM product_lines WHERE tenant_id = $1 AND request_id = $2`, tenant, pl.RequestID))
			if perr == nil {
				return prev, nil
			}
		}
		return app.ProductLine{}, errs.AlreadyExists("product line", pl.ID)
	}
	if err != nil {
		return app.ProductLine{}, err
	}
	return s.GetProductLine(ctx, tenant, pl.ID)
}

// GetProductLine reads one product line.
func (s *Store) GetProductLine(ctx context.Context, tenant, id string) (app.ProductLine, error) {
	pl, err := scanProductLine(s.pool.QueryRow(ctx, `SELECT `+productLineCols+` FROM product_lines WHERE tenant_id = $1 AND id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return pl, errs.NotFound("product line", id)
	}
	return pl, err
}

// ListProductLines lists a tenant's product lines by ID.
func (s *Store) ListProductLines(ctx context.Context, tenant string) ([]app.ProductLine, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+productLineCols+` FROM product_lines WHERE tenant_id = $1 ORDER BY id`, tenant)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.ProductLine, error) { return scanProductLine(r) })
}

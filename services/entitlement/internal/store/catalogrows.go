package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

var licenseModels = catalogTable[app.LicenseModel]{
	table: "license_models", resource: "license model",
	cols: `id, display_name, model_type, allowed_host_id_types, coalesce(request_id, ''), created_at, extra_activations, overdraft_allowed, defaults, policies`,
	scan: func(row pgx.Row) (app.LicenseModel, error) {
		var m app.LicenseModel
		err := row.Scan(&m.ID, &m.DisplayName, &m.Type, &m.AllowedHostIDTypes, &m.RequestID, &m.CreateTime,
			&m.ExtraActivations, &m.OverdraftAllowed, &m.Defaults, &m.Policies)
		return m, err
	},
}

// CreateLicenseModel inserts m, or returns the model created earlier with the same
// request ID.
func (s *Store) CreateLicenseModel(ctx context.Context, tenant string, m app.LicenseModel) (app.LicenseModel, error) {
	return licenseModels.create(ctx, s, tenant, m.ID, m.DisplayName, m.RequestID,
		`INSERT INTO license_models (tenant_id, id, display_name, model_type, allowed_host_id_types, request_id, extra_activations, overdraft_allowed, defaults, policies)
		VALUES ($1, $2, $3, $4, coalesce($5::text[], '{}'), $6, $7, $8, $9, $10)`,
		tenant, m.ID, m.DisplayName, m.Type, m.AllowedHostIDTypes, pg.NullIfEmpty(m.RequestID), m.ExtraActivations, m.OverdraftAllowed, m.Defaults, m.Policies)
}

// GetLicenseModel reads one license model.
func (s *Store) GetLicenseModel(ctx context.Context, tenant, id string) (app.LicenseModel, error) {
	return licenseModels.get(ctx, s, tenant, id)
}

var licenseModelSchema = filter.Schema{
	"display_name": {Column: "display_name", Kind: filter.Text},
	"type": {Column: "model_type", Kind: filter.Exact, Values: map[string]string{
		"NODELOCKED_UNCOUNTED": app.ModelNodelockedUncounted, "NODELOCKED_COUNTED": app.ModelNodelockedCounted,
		"FLOATING_UNCOUNTED": app.ModelFloatingUncounted, "FLOATING_COUNTED": app.ModelFloatingCounted,
		"TRUSTED_CLIENT": app.ModelTrustedClient, "TRUSTED_SERVER": app.ModelTrustedServer, "EMBEDDED": app.ModelEmbedded,
	}},
	"create_time": {Column: "created_at", Kind: filter.Time},
}

// ListLicenseModels lists a page of a tenant's license models.
func (s *Store) ListLicenseModels(ctx context.Context, tenant string, q filter.Query) ([]app.LicenseModel, string, error) {
	return licenseModels.page(ctx, s, tenant, licenseModelSchema, q, func(m app.LicenseModel) string { return m.ID })
}

// UpdateLicenseModel applies fn to a license model under its row lock, telling it
// whether a product sells under the model or a line item uses it, and saves the
// result with a license_model.updated event.
func (s *Store) UpdateLicenseModel(ctx context.Context, tenant, id string, fn func(m *app.LicenseModel, inUse bool) error) (app.LicenseModel, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		m, err := licenseModels.scan(tx.QueryRow(ctx, `SELECT `+licenseModels.cols+` FROM license_models WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("license model", id)
		}
		if err != nil {
			return err
		}
		var inUse bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM products WHERE tenant_id = $1 AND $2 = ANY(license_models))
			OR EXISTS (SELECT 1 FROM line_items WHERE tenant_id = $1 AND license_model_id = $2)`, tenant, id).Scan(&inUse); err != nil {
			return err
		}
		if err := fn(&m, inUse); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE license_models SET display_name = $3, model_type = $4, allowed_host_id_types = coalesce($5::text[], '{}'),
				extra_activations = $6, overdraft_allowed = $7, defaults = $8, policies = $9
			WHERE tenant_id = $1 AND id = $2`,
			tenant, id, m.DisplayName, m.Type, m.AllowedHostIDTypes, m.ExtraActivations, m.OverdraftAllowed, m.Defaults, m.Policies); err != nil {
			return err
		}
		return catalogChanged(ctx, tx, tenant, "license model", id, m.DisplayName, "updated")
	})
	if err != nil {
		return app.LicenseModel{}, err
	}
	return s.GetLicenseModel(ctx, tenant, id)
}

const productCols = `id, display_name, version, description, license_technology, features, license_models, part_numbers, coalesce(request_id, ''), created_at,
	coalesce(product_line_id, ''), kind, maintained_products, upgrade_to, upsell_to, updated_at`

func scanProductInto(row pgx.Row, p *app.Product, extra ...any) error {
	var features []byte
	dest := append([]any{
		&p.ID, &p.DisplayName, &p.Version, &p.Description, &p.LicenseTechnology, &features, &p.LicenseModelIDs, &p.PartNumbers, &p.RequestID, &p.CreateTime,
		&p.ProductLineID, &p.Kind, &p.MaintainedProductIDs, &p.UpgradeTo, &p.UpsellTo, &p.UpdateTime,
	}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	return json.Unmarshal(features, &p.Features)
}

var products = catalogTable[app.Product]{
	table: "products", resource: "product", cols: productCols,
	scan: func(row pgx.Row) (app.Product, error) {
		var p app.Product
		return p, scanProductInto(row, &p)
	},
}

// CreateProduct inserts p, or returns the product created earlier with the same
// request ID.
func (s *Store) CreateProduct(ctx context.Context, tenant string, p app.Product) (app.Product, error) {
	features, err := json.Marshal(p.Features)
	if err != nil {
		return app.Product{}, err
	}
	return products.create(ctx, s, tenant, p.ID, p.DisplayName, p.RequestID,
		`INSERT INTO products (tenant_id, id, display_name, version, description, license_technology, features, license_models, part_numbers, request_id,
			product_line_id, kind, maintained_products, upgrade_to, upsell_to)
		VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8::text[], '{}'), coalesce($9::text[], '{}'), $10, $11, $12,
			coalesce($13::text[], '{}'), coalesce($14::text[], '{}'), coalesce($15::text[], '{}'))`,
		tenant, p.ID, p.DisplayName, p.Version, p.Description, p.LicenseTechnology, features, p.LicenseModelIDs, p.PartNumbers, pg.NullIfEmpty(p.RequestID),
		pg.NullIfEmpty(p.ProductLineID), p.Kind, p.MaintainedProductIDs, p.UpgradeTo, p.UpsellTo)
}

// GetProduct reads one product.
func (s *Store) GetProduct(ctx context.Context, tenant, id string) (app.Product, error) {
	return products.get(ctx, s, tenant, id)
}

// UpdateProduct changes a product under a row lock.
func (s *Store) UpdateProduct(ctx context.Context, tenant, id string, fn func(*app.Product) error) (app.Product, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		p, err := products.scan(tx.QueryRow(ctx, `SELECT `+productCols+` FROM products WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, id))
		if errs.IsKind(err, errs.KindNotFound) {
			return errs.NotFound("product", id)
		}
		if err != nil {
			return err
		}
		if err := fn(&p); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE products SET display_name = $3, version = $4, description = $5, part_numbers = coalesce($6::text[], '{}'),
				product_line_id = $7, maintained_products = coalesce($8::text[], '{}'), upgrade_to = coalesce($9::text[], '{}'),
				upsell_to = coalesce($10::text[], '{}'), license_models = coalesce($11::text[], '{}'), updated_at = now()
			WHERE tenant_id = $1 AND id = $2`,
			tenant, id, p.DisplayName, p.Version, p.Description, p.PartNumbers, pg.NullIfEmpty(p.ProductLineID), p.MaintainedProductIDs, p.UpgradeTo, p.UpsellTo, p.LicenseModelIDs)
		if err != nil {
			return err
		}
		return catalogChanged(ctx, tx, tenant, "product", id, p.DisplayName, "updated")
	})
	if err != nil {
		return app.Product{}, err
	}
	return s.GetProduct(ctx, tenant, id)
}

var productSchema = filter.Schema{
	"display_name": {Column: "display_name", Kind: filter.Text},
	"version":      {Column: "version", Kind: filter.Text},
	"description":  {Column: "description", Kind: filter.Text},
	"kind":         {Column: "kind", Kind: filter.Exact, Values: map[string]string{"STANDARD": app.ProductStandard, "MAINTENANCE": app.ProductMaintenance}},
	"product_line": {Column: "coalesce(product_line_id, '')", Kind: filter.Exact, Collection: "productLines"},
	"create_time":  {Column: "created_at", Kind: filter.Time},
}

// ListProducts lists a page of a tenant's products.
func (s *Store) ListProducts(ctx context.Context, tenant string, q filter.Query) ([]app.Product, string, error) {
	plan, err := productSchema.Plan(q, "id", 2)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+productCols+`, `+plan.SortKey+` FROM products WHERE tenant_id = $1 AND `+plan.Where+
		` ORDER BY `+plan.OrderBy+` LIMIT `+strconv.Itoa(plan.Limit), append([]any{tenant}, plan.Args...)...)
	if err != nil {
		return nil, "", err
	}
	return filter.CollectPage(plan, rows, func(r pgx.CollectableRow, p *app.Product, key *string) error { return scanProductInto(r, p, key) },
		func(p app.Product) string { return p.ID })
}

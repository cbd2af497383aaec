package app

import (
	"context"
	"slices"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

var modelTypes = []string{ModelNodelockedUncounted, ModelNodelockedCounted, ModelFloatingUncounted, ModelFloatingCounted, ModelTrustedClient, ModelTrustedServer, ModelEmbedded}

// HostIDTypes are the host ID types a license model may allow.
var HostIDTypes = []string{"ANY", "HOSTNAME", "ETHER", "INTERNET", "ID_STRING", "VENDOR_STRING", "DISK_SERIAL_NUM"}

// CreateLicenseModel validates and stores a license model.
func (a *App) CreateLicenseModel(ctx context.Context, m LicenseModel) (LicenseModel, error) {
	var v errs.Violations
	m.ID = ids.Resolve(&v, "license_model_id", authz.MustTenant(ctx), "LM", m.ID, m.RequestID)
	v.Require("license_model.display_name", m.DisplayName)
	if !slices.Contains(modelTypes, m.Type) {
		v.Add("license_model.type", "is required")
	}
	for _, t := range m.AllowedHostIDTypes {
		if !slices.Contains(HostIDTypes, t) {
			v.Add("license_model.allowed_host_id_types", "unknown host ID type %q", t)
		}
	}
	if err := v.Err(); err != nil {
		return LicenseModel{}, err
	}
	return a.store.CreateLicenseModel(ctx, authz.MustTenant(ctx), m)
}

// GetLicenseModel reads a license model.
func (a *App) GetLicenseModel(ctx context.Context, id string) (LicenseModel, error) {
	return a.store.GetLicenseModel(ctx, authz.MustTenant(ctx), id)
}

// CreateProduct validates and stores a product; its license models must exist.
func (a *App) CreateProduct(ctx context.Context, p Product) (Product, error) {
	var v errs.Violations
	p.ID = ids.Resolve(&v, "product_id", authz.MustTenant(ctx), "PRD", p.ID, p.RequestID)
	v.Require("product.display_name", p.DisplayName)
	if p.LicenseTechnology == "" {
		v.Add("product.license_technology", "is required")
	}
	seen := map[string]bool{}
	for i, f := range p.Features {
		if !featureName.MatchString(f.Name) {
			v.Add(fieldIndex("product.features", i, "name"), "must be 1-30 letters, digits or '_' starting with a letter")
		}
		if !featureVersion.MatchString(f.Version) {
			v.Add(fieldIndex("product.features", i, "version"), "must be a dotted version like 1.0")
		}
		if seen[f.Name] {
			v.Add(fieldIndex("product.features", i, "name"), "feature %q is listed twice", f.Name)
		}
		seen[f.Name] = true
	}
	if err := v.Err(); err != nil {
		return Product{}, err
	}
	tenant := authz.MustTenant(ctx)
	for i, id := range p.LicenseModelIDs {
		if _, err := a.store.GetLicenseModel(ctx, tenant, id); err != nil {
			if errs.IsKind(err, errs.KindNotFound) {
				return Product{}, errs.Invalid(fieldIndex("product.license_models", i, ""), "license model %q does not exist", id)
			}
			return Product{}, err
		}
	}
	if p.ProductLineID != "" {
		if _, err := a.store.GetProductLine(ctx, tenant, p.ProductLineID); errs.IsKind(err, errs.KindNotFound) {
			return Product{}, errs.Invalid("product.product_line", "product line %q does not exist", p.ProductLineID)
		} else if err != nil {
			return Product{}, err
		}
	}
	return a.store.CreateProduct(ctx, tenant, p)
}

// CreateProductLine validates and stores a product line.
func (a *App) CreateProductLine(ctx context.Context, pl ProductLine) (ProductLine, error) {
	tenant := authz.MustTenant(ctx)
	var v errs.Violations
	pl.ID = ids.Resolve(&v, "product_line_id", tenant, "PL", pl.ID, pl.RequestID)
	v.Require("product_line.display_name", pl.DisplayName)
	if err := v.Err(); err != nil {
		return ProductLine{}, err
	}
	return a.store.CreateProductLine(ctx, tenant, pl)
}

// GetProductLine reads a product line.
func (a *App) GetProductLine(ctx context.Context, id string) (ProductLine, error) {
	return a.store.GetProductLine(ctx, authz.MustTenant(ctx), id)
}

// ListProductLines lists the tenant's product lines.
func (a *App) ListProductLines(ctx context.Context) ([]ProductLine, error) {
	return a.store.ListProductLines(ctx, authz.MustTenant(ctx))
}

// GetProduct reads a product.
func (a *App) GetProduct(ctx context.Context, id string) (Product, error) {
	return a.store.GetProduct(ctx, authz.MustTenant(ctx), id)
}

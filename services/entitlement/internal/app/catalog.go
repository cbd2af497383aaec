package app

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time zones are checked even where the system has no zoneinfo

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/duration"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

var modelTypes = []string{ModelNodelockedUncounted, ModelNodelockedCounted, ModelFloatingUncounted, ModelFloatingCounted, ModelTrustedClient, ModelTrustedServer, ModelEmbedded}

// HostIDTypes are the host ID kinds a license model may allow (SPEC LIC-3).
var HostIDTypes = licfile.Kinds()

// CreateLicenseModel validates and stores a license model.
func (a *App) CreateLicenseModel(ctx context.Context, m LicenseModel) (LicenseModel, error) {
	var v errs.Violations
	m.ID = ids.Resolve(&v, "license_model_id", authz.MustTenant(ctx), "LM", m.ID, m.RequestID)
	checkLicenseModel(&v, m)
	if err := v.Err(); err != nil {
		return LicenseModel{}, err
	}
	return a.store.CreateLicenseModel(ctx, authz.MustTenant(ctx), m)
}

// checkLicenseModel validates a license model's own fields.
func checkLicenseModel(v *errs.Violations, m LicenseModel) {
	v.Require("license_model.display_name", m.DisplayName)
	if !slices.Contains(modelTypes, m.Type) {
		v.Add("license_model.type", "is required")
	}
	for _, t := range m.AllowedHostIDTypes {
		if !slices.Contains(HostIDTypes, t) {
			v.Add("license_model.allowed_host_id_types", "unknown host ID type %q", t)
		}
	}
	checkModelAttributes(v, m)
}

// ListLicenseModels lists a page of the tenant's license models.
func (a *App) ListLicenseModels(ctx context.Context, q filter.Query) ([]LicenseModel, string, error) {
	return a.store.ListLicenseModels(ctx, authz.MustTenant(ctx), q)
}

// LicenseModelPatch says what UpdateLicenseModel changes; nil fields stay.
type LicenseModelPatch struct {
	DisplayName, Type  *string
	AllowedHostIDTypes *[]string
	ExtraActivations   *int64
	OverdraftAllowed   *bool
	Defaults           *LicenseDefaults
	Returns            *LifecyclePolicy
	Repairs, Rehosts   *LifecyclePolicy
}

// UpdateLicenseModel changes a license model under its row lock. Once a product
// sells under it or a line item uses it, the type is fixed (issued licenses and
// seat counting depend on it) and host ID types may be added but not removed
// (fulfillments are locked to them). Extra activations and overdraft apply to line
// items made from then on: line items keep what they were made with. Defaults and
// lifecycle policies apply to licenses and returns from then on.
func (a *App) UpdateLicenseModel(ctx context.Context, id string, patch LicenseModelPatch) (LicenseModel, error) {
	return a.store.UpdateLicenseModel(ctx, authz.MustTenant(ctx), id, func(m *LicenseModel, inUse bool) error {
		before := *m
		set(&m.DisplayName, patch.DisplayName)
		set(&m.Type, patch.Type)
		set(&m.AllowedHostIDTypes, patch.AllowedHostIDTypes)
		set(&m.ExtraActivations, patch.ExtraActivations)
		set(&m.OverdraftAllowed, patch.OverdraftAllowed)
		set(&m.Defaults, patch.Defaults)
		set(&m.Policies.Returns, patch.Returns)
		set(&m.Policies.Repairs, patch.Repairs)
		set(&m.Policies.Rehosts, patch.Rehosts)
		var v errs.Violations
		checkLicenseModel(&v, *m)
		if err := v.Err(); err != nil {
			return err
		}
		if !inUse {
			return nil
		}
		if m.Type != before.Type {
			return errs.FailedPrecondition("LICENSE_MODEL_IN_USE", "license model %s is in use; its type cannot change", id)
		}
		for _, t := range before.AllowedHostIDTypes {
			if !slices.Contains(m.AllowedHostIDTypes, t) {
				return errs.FailedPrecondition("LICENSE_MODEL_IN_USE", "license model %s is in use; host ID type %s cannot be removed", id, t)
			}
		}
		return nil
	})
}

// set overwrites *dst with *src when src is given.
func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// GetLicenseModel reads a license model.
func (a *App) GetLicenseModel(ctx context.Context, id string) (LicenseModel, error) {
	return a.store.GetLicenseModel(ctx, authz.MustTenant(ctx), id)
}

// CreateProduct validates and stores a product; what it refers to must exist.
func (a *App) CreateProduct(ctx context.Context, p Product) (Product, error) {
	var v errs.Violations
	tenant := authz.MustTenant(ctx)
	p.ID = ids.Resolve(&v, "product_id", tenant, "PRD", p.ID, p.RequestID)
	if p.Kind == "" {
		p.Kind = ProductStandard
	}
	checkProduct(&v, p)
	if err := v.Err(); err != nil {
		return Product{}, err
	}
	if err := a.checkProductRefs(ctx, tenant, p); err != nil {
		return Product{}, err
	}
	return a.store.CreateProduct(ctx, tenant, p)
}

// checkProduct validates a product's own fields.
func checkProduct(v *errs.Violations, p Product) {
	v.Require("product.display_name", p.DisplayName)
	if p.LicenseTechnology == "" {
		v.Add("product.license_technology", "is required")
	}
	seen := map[string]bool{}
	for i, f := range p.Features {
		// The license grammar's own rules: every feature of the catalog can be licensed.
		if !licfile.ValidFeatureName(f.Name) {
			v.Add(fieldIndex("product.features", i, "name"), "must be %s", licfile.FeatureNameRule)
		}
		if !licfile.ValidFeatureVersion(f.Version) {
			v.Add(fieldIndex("product.features", i, "version"), "must be %s", licfile.FeatureVersionRule)
		}
		if seen[f.Name] {
			v.Add(fieldIndex("product.features", i, "name"), "feature %q is listed twice", f.Name)
		}
		seen[f.Name] = true
	}
	if p.Kind != ProductStandard && p.Kind != ProductMaintenance {
		v.Add("product.kind", "must be STANDARD or MAINTENANCE")
	}
	if p.Kind != ProductMaintenance && len(p.MaintainedProductIDs) > 0 {
		v.Add("product.maintained_products", "only maintenance products maintain others")
	}
	for field, list := range map[string][]string{"product.maintained_products": p.MaintainedProductIDs, "product.upgrade_to": p.UpgradeTo, "product.upsell_to": p.UpsellTo} {
		for i, id := range list {
			if id == p.ID {
				v.Add(fieldIndex(field, i, ""), "a product does not relate to itself")
			} else if slices.Contains(list[:i], id) {
				v.Add(fieldIndex(field, i, ""), "%q is listed twice", id)
			}
		}
	}
}

// checkProductRefs checks that the license models, product line and related
// products a product names exist.
func (a *App) checkProductRefs(ctx context.Context, tenant string, p Product) error {
	for i, id := range p.LicenseModelIDs {
		if _, err := a.store.GetLicenseModel(ctx, tenant, id); err != nil {
			if errs.IsKind(err, errs.KindNotFound) {
				return errs.Invalid(fieldIndex("product.license_models", i, ""), "license model %q does not exist", id)
			}
			return err
		}
	}
	if p.ProductLineID != "" {
		if _, err := a.store.GetProductLine(ctx, tenant, p.ProductLineID); errs.IsKind(err, errs.KindNotFound) {
			return errs.Invalid("product.product_line", "product line %q does not exist", p.ProductLineID)
		} else if err != nil {
			return err
		}
	}
	for _, rel := range []struct {
		field string
		ids   []string
	}{{"product.maintained_products", p.MaintainedProductIDs}, {"product.upgrade_to", p.UpgradeTo}, {"product.upsell_to", p.UpsellTo}} {
		for i, id := range rel.ids {
			if _, err := a.store.GetProduct(ctx, tenant, id); errs.IsKind(err, errs.KindNotFound) {
				return errs.Invalid(fieldIndex(rel.field, i, ""), "product %q does not exist", id)
			} else if err != nil {
				return err
			}
		}
	}
	return nil
}

// ProductPatch holds what UpdateProduct changes; nil fields stay.
type ProductPatch struct {
	DisplayName, Version, Description, ProductLineID               *string
	PartNumbers, MaintainedProductIDs, UpgradeTo, UpsellTo, Models *[]string
}

// UpdateProduct changes a product. License models may be added, never removed:
// line items already sold under a model keep it.
func (a *App) UpdateProduct(ctx context.Context, id string, patch ProductPatch) (Product, error) {
	tenant := authz.MustTenant(ctx)
	return a.store.UpdateProduct(ctx, tenant, id, func(p *Product) error {
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		setList := func(dst *[]string, v *[]string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&p.DisplayName, patch.DisplayName)
		set(&p.Version, patch.Version)
		set(&p.Description, patch.Description)
		set(&p.ProductLineID, patch.ProductLineID)
		setList(&p.PartNumbers, patch.PartNumbers)
		setList(&p.MaintainedProductIDs, patch.MaintainedProductIDs)
		setList(&p.UpgradeTo, patch.UpgradeTo)
		setList(&p.UpsellTo, patch.UpsellTo)
		if patch.Models != nil {
			for _, old := range p.LicenseModelIDs {
				if !slices.Contains(*patch.Models, old) {
					return errs.Invalid("product.license_models", "license model %q cannot be removed: line items may be sold under it", old)
				}
			}
			p.LicenseModelIDs = *patch.Models
		}
		var v errs.Violations
		checkProduct(&v, *p)
		if err := v.Err(); err != nil {
			return err
		}
		return a.checkProductRefs(ctx, tenant, *p)
	})
}

// ListProducts lists a page of the tenant's products.
func (a *App) ListProducts(ctx context.Context, q filter.Query) ([]Product, string, error) {
	return a.store.ListProducts(ctx, authz.MustTenant(ctx), q)
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

// ListProductLines lists a page of the tenant's product lines.
func (a *App) ListProductLines(ctx context.Context, q filter.Query) ([]ProductLine, string, error) {
	return a.store.ListProductLines(ctx, authz.MustTenant(ctx), q)
}

// GetProduct reads a product.
func (a *App) GetProduct(ctx context.Context, id string) (Product, error) {
	return a.store.GetProduct(ctx, authz.MustTenant(ctx), id)
}

var platform = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// checkModelAttributes validates a model's counts, license defaults and policies.
func checkModelAttributes(v *errs.Violations, m LicenseModel) {
	if m.ExtraActivations < 0 || m.ExtraActivations > 1_000_000 {
		v.Add("license_model.extra_activations", "must be between 0 and 1000000")
	}
	d := m.Defaults
	if d.BorrowHours < 0 || d.BorrowHours > 8760 {
		v.Add("license_model.defaults.borrow_hours", "must be between 0 and 8760")
	}
	if !slices.Contains([]string{"", "any", "physical_only", "vm_only"}, d.VMPlatforms) {
		v.Add("license_model.defaults.vm_platforms", "must be any, physical_only or vm_only")
	}
	if d.TimeZone != "" {
		if _, err := time.LoadLocation(d.TimeZone); err != nil {
			v.Add("license_model.defaults.time_zone", "is not an IANA time zone like Europe/Berlin")
		}
	}
	for i, p := range d.Platforms {
		if !platform.MatchString(p) {
			v.Add(fieldIndex("license_model.defaults.platforms", i, ""), "must be 1-32 lower-case letters, digits or '_'")
		}
	}
	for field, text := range map[string]string{"issuer": d.Issuer, "notice": d.Notice, "serial": d.Serial, "vendor_string": d.VendorString} {
		// License files quote these values: keep them to one printable line.
		if len(text) > 200 || strings.ContainsAny(text, "\"\n\r\\") {
			v.Add("license_model.defaults."+field, "must be at most 200 characters, on one line, without quotes or backslashes")
		}
	}
	for field, p := range map[string]LifecyclePolicy{"returns": m.Policies.Returns, "repairs": m.Policies.Repairs, "rehosts": m.Policies.Rehosts} {
		if p.Allowed < 0 || p.Allowed > 1000 {
			v.Add("license_model."+field+".allowed", "must be between 0 and 1000")
		}
		if p.Period != "" {
			if _, err := duration.Parse(p.Period); err != nil {
				v.Add("license_model."+field+".period", "%v", err)
			}
		}
	}
}

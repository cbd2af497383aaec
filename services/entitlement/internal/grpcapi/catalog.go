package grpcapi

import (
	"context"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/names"
)

func licenseModelPB(m app.LicenseModel) *entitlementpb.LicenseModel {
	d := m.Defaults
	policy := func(p app.LifecyclePolicy) *entitlementpb.LifecyclePolicy {
		return &entitlementpb.LifecyclePolicy{Allowed: int32(p.Allowed), Period: p.Period} //nolint:gosec // at most 1000
	}
	return &entitlementpb.LicenseModel{
		Name: "licenseModels/" + m.ID, LicenseModelId: m.ID, DisplayName: m.DisplayName,
		Type: modelTypesBack[m.Type], AllowedHostIdTypes: m.AllowedHostIDTypes, CreateTime: ts(m.CreateTime),
		ExtraActivations: m.ExtraActivations, OverdraftAllowed: m.OverdraftAllowed,
		Defaults: &entitlementpb.LicenseDefaults{
			BorrowHours: int32(d.BorrowHours), TsOk: d.TSOK, VmPlatforms: d.VMPlatforms, TimeZone: d.TimeZone, Platforms: d.Platforms, //nolint:gosec // at most 8760
			Issuer: d.Issuer, Notice: d.Notice, Serial: d.Serial, VendorString: d.VendorString, UseServer: d.UseServer,
		},
		Returns: policy(m.Policies.Returns), Repairs: policy(m.Policies.Repairs), Rehosts: policy(m.Policies.Rehosts),
	}
}

// licenseModelOf reads a license model from its message.
func licenseModelOf(m *entitlementpb.LicenseModel) app.LicenseModel {
	d := m.GetDefaults()
	return app.LicenseModel{
		DisplayName: m.GetDisplayName(), Type: modelTypes[m.GetType()], AllowedHostIDTypes: m.GetAllowedHostIdTypes(),
		ExtraActivations: m.GetExtraActivations(), OverdraftAllowed: m.GetOverdraftAllowed(),
		Defaults: app.LicenseDefaults{
			BorrowHours: int(d.GetBorrowHours()), TSOK: d.GetTsOk(), VMPlatforms: d.GetVmPlatforms(), TimeZone: d.GetTimeZone(), Platforms: d.GetPlatforms(),
			Issuer: d.GetIssuer(), Notice: d.GetNotice(), Serial: d.GetSerial(), VendorString: d.GetVendorString(), UseServer: d.GetUseServer(),
		},
		Policies: app.LifecyclePolicies{Returns: policyOf(m.GetReturns()), Repairs: policyOf(m.GetRepairs()), Rehosts: policyOf(m.GetRehosts())},
	}
}

func policyOf(p *entitlementpb.LifecyclePolicy) app.LifecyclePolicy {
	return app.LifecyclePolicy{Allowed: int(p.GetAllowed()), Period: p.GetPeriod()}
}

// CreateLicenseModel implements CatalogService.
func (s *Server) CreateLicenseModel(ctx context.Context, req *entitlementpb.CreateLicenseModelRequest) (*entitlementpb.LicenseModel, error) {
	m := licenseModelOf(req.GetLicenseModel())
	m.ID, m.RequestID = req.GetLicenseModelId(), req.GetRequestId()
	out, err := s.app.CreateLicenseModel(ctx, m)
	if err != nil {
		return nil, err
	}
	return licenseModelPB(out), nil
}

// ListLicenseModels implements CatalogService.
func (s *Server) ListLicenseModels(ctx context.Context, req *entitlementpb.ListLicenseModelsRequest) (*entitlementpb.ListLicenseModelsResponse, error) {
	list, next, err := s.app.ListLicenseModels(ctx, filter.Query{
		Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize()),
	})
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.ListLicenseModelsResponse{NextPageToken: next}
	for _, m := range list {
		out.LicenseModels = append(out.LicenseModels, licenseModelPB(m))
	}
	return out, nil
}

// UpdateLicenseModel implements CatalogService.
func (s *Server) UpdateLicenseModel(ctx context.Context, req *entitlementpb.UpdateLicenseModelRequest) (*entitlementpb.LicenseModel, error) {
	id, err := names.ID("license_model.name", req.GetLicenseModel().GetName(), "licenseModels")
	if err != nil {
		return nil, err
	}
	m := licenseModelOf(req.GetLicenseModel())
	var patch app.LicenseModelPatch
	for _, path := range req.GetUpdateMask().GetPaths() {
		switch path {
		case "display_name":
			patch.DisplayName = &m.DisplayName
		case "type":
			patch.Type = &m.Type
		case "allowed_host_id_types":
			patch.AllowedHostIDTypes = &m.AllowedHostIDTypes
		case "extra_activations":
			patch.ExtraActivations = &m.ExtraActivations
		case "overdraft_allowed":
			patch.OverdraftAllowed = &m.OverdraftAllowed
		case "defaults":
			patch.Defaults = &m.Defaults
		case "returns":
			patch.Returns = &m.Policies.Returns
		case "repairs":
			patch.Repairs = &m.Policies.Repairs
		case "rehosts":
			patch.Rehosts = &m.Policies.Rehosts
		default:
			return nil, errs.Invalid("update_mask", "%q cannot be changed", path)
		}
	}
	if len(req.GetUpdateMask().GetPaths()) == 0 {
		return nil, errs.Invalid("update_mask", "names nothing to change")
	}
	out, err := s.app.UpdateLicenseModel(ctx, id, patch)
	if err != nil {
		return nil, err
	}
	return licenseModelPB(out), nil
}

// GetLicenseModel implements CatalogService.
func (s *Server) GetLicenseModel(ctx context.Context, req *entitlementpb.GetLicenseModelRequest) (*entitlementpb.LicenseModel, error) {
	id, err := names.ID("name", req.GetName(), "licenseModels")
	if err != nil {
		return nil, err
	}
	out, err := s.app.GetLicenseModel(ctx, id)
	if err != nil {
		return nil, err
	}
	return licenseModelPB(out), nil
}

func productPB(p app.Product) *entitlementpb.Product {
	out := &entitlementpb.Product{
		Name: "products/" + p.ID, ProductId: p.ID, DisplayName: p.DisplayName, Version: p.Version,
		Description: p.Description, LicenseTechnology: technologiesBack[p.LicenseTechnology],
		LicenseModels: prefixAll("licenseModels/", p.LicenseModelIDs), PartNumbers: p.PartNumbers, CreateTime: ts(p.CreateTime),
		ProductLine: productLineName(p.ProductLineID), Kind: productKinds[p.Kind],
		MaintainedProducts: prefixAll("products/", p.MaintainedProductIDs), UpgradeTo: prefixAll("products/", p.UpgradeTo),
		UpsellTo: prefixAll("products/", p.UpsellTo),
	}
	for _, f := range p.Features {
		out.Features = append(out.Features, &entitlementpb.Feature{Name: f.Name, Version: f.Version})
	}
	return out
}

// CreateProduct implements CatalogService.
func (s *Server) CreateProduct(ctx context.Context, req *entitlementpb.CreateProductRequest) (*entitlementpb.Product, error) {
	p := req.GetProduct()
	in := app.Product{
		ID: req.GetProductId(), DisplayName: p.GetDisplayName(), Version: p.GetVersion(), Description: p.GetDescription(),
		LicenseTechnology: technologies[p.GetLicenseTechnology()], PartNumbers: p.GetPartNumbers(), RequestID: req.GetRequestId(),
	}
	for _, f := range p.GetFeatures() {
		in.Features = append(in.Features, app.Feature{Name: f.GetName(), Version: f.GetVersion()})
	}
	refs, err := productRefsOf(p)
	if err != nil {
		return nil, err
	}
	in.ProductLineID, in.LicenseModelIDs = refs.line, refs.models
	in.MaintainedProductIDs, in.UpgradeTo, in.UpsellTo = refs.maintained, refs.upgrade, refs.upsell
	if p.GetKind() != entitlementpb.ProductKind_PRODUCT_KIND_UNSPECIFIED {
		in.Kind = productKindsBack[p.GetKind()]
	}
	out, err := s.app.CreateProduct(ctx, in)
	if err != nil {
		return nil, err
	}
	return productPB(out), nil
}

// GetProduct implements CatalogService.
func (s *Server) GetProduct(ctx context.Context, req *entitlementpb.GetProductRequest) (*entitlementpb.Product, error) {
	id, err := names.ID("name", req.GetName(), "products")
	if err != nil {
		return nil, err
	}
	out, err := s.app.GetProduct(ctx, id)
	if err != nil {
		return nil, err
	}
	return productPB(out), nil
}

func servicePlanPB(sp app.ServicePlan) *entitlementpb.ServicePlan {
	return &entitlementpb.ServicePlan{
		Name: "servicePlans/" + sp.ID, ServicePlanId: sp.ID, DisplayName: sp.DisplayName, Description: sp.Description,
		Product: "products/" + sp.ProductID, LicenseModel: "licenseModels/" + sp.LicenseModelID, Unit: sp.Unit, CreateTime: ts(sp.CreateTime),
	}
}

// CreateServicePlan implements CatalogService.
func (s *Server) CreateServicePlan(ctx context.Context, req *entitlementpb.CreateServicePlanRequest) (*entitlementpb.ServicePlan, error) {
	sp := req.GetServicePlan()
	product, err := names.OptionalID("service_plan.product", sp.GetProduct(), "products")
	if err != nil {
		return nil, err
	}
	model, err := names.OptionalID("service_plan.license_model", sp.GetLicenseModel(), "licenseModels")
	if err != nil {
		return nil, err
	}
	out, err := s.app.CreateServicePlan(ctx, app.ServicePlan{
		ID: req.GetServicePlanId(), DisplayName: sp.GetDisplayName(), Description: sp.GetDescription(),
		ProductID: product, LicenseModelID: model, Unit: sp.GetUnit(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return servicePlanPB(out), nil
}

// GetServicePlan implements CatalogService.
func (s *Server) GetServicePlan(ctx context.Context, req *entitlementpb.GetServicePlanRequest) (*entitlementpb.ServicePlan, error) {
	id, err := names.ID("name", req.GetName(), "servicePlans")
	if err != nil {
		return nil, err
	}
	out, err := s.app.GetServicePlan(ctx, id)
	if err != nil {
		return nil, err
	}
	return servicePlanPB(out), nil
}

// ListServicePlans implements CatalogService.
func (s *Server) ListServicePlans(ctx context.Context, req *entitlementpb.ListServicePlansRequest) (*entitlementpb.ListServicePlansResponse, error) {
	plans, next, err := s.app.ListServicePlans(ctx, filter.Query{PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize())})
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.ListServicePlansResponse{NextPageToken: next}
	for _, sp := range plans {
		out.ServicePlans = append(out.ServicePlans, servicePlanPB(sp))
	}
	return out, nil
}

// productLineName is the resource name of a product line, empty for none.
func productLineName(id string) string {
	if id == "" {
		return ""
	}
	return "productLines/" + id
}

func productLinePB(pl app.ProductLine) *entitlementpb.ProductLine {
	return &entitlementpb.ProductLine{
		Name: "productLines/" + pl.ID, ProductLineId: pl.ID, DisplayName: pl.DisplayName, Description: pl.Description, CreateTime: ts(pl.CreateTime),
	}
}

// CreateProductLine implements CatalogService.
func (s *Server) CreateProductLine(ctx context.Context, req *entitlementpb.CreateProductLineRequest) (*entitlementpb.ProductLine, error) {
	pl := req.GetProductLine()
	out, err := s.app.CreateProductLine(ctx, app.ProductLine{
		ID: req.GetProductLineId(), DisplayName: pl.GetDisplayName(), Description: pl.GetDescription(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return productLinePB(out), nil
}

// GetProductLine implements CatalogService.
func (s *Server) GetProductLine(ctx context.Context, req *entitlementpb.GetProductLineRequest) (*entitlementpb.ProductLine, error) {
	id, err := names.ID("name", req.GetName(), "productLines")
	if err != nil {
		return nil, err
	}
	out, err := s.app.GetProductLine(ctx, id)
	if err != nil {
		return nil, err
	}
	return productLinePB(out), nil
}

// ListProductLines implements CatalogService.
func (s *Server) ListProductLines(ctx context.Context, req *entitlementpb.ListProductLinesRequest) (*entitlementpb.ListProductLinesResponse, error) {
	lines, next, err := s.app.ListProductLines(ctx, filter.Query{PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize())})
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.ListProductLinesResponse{NextPageToken: next}
	for _, pl := range lines {
		out.ProductLines = append(out.ProductLines, productLinePB(pl))
	}
	return out, nil
}

func trialPB(t app.Trial) *entitlementpb.Trial {
	return &entitlementpb.Trial{
		Name: "trials/" + t.PartNumber, PartNumber: t.PartNumber, DisplayName: t.DisplayName, Product: "products/" + t.ProductID,
		LicenseModel: "licenseModels/" + t.LicenseModelID, Quantity: t.Quantity, DurationDays: int32(t.DurationDays), //nolint:gosec // at most 366
		CreateTime: ts(t.CreateTime),
	}
}

// CreateTrial implements CatalogService.
func (s *Server) CreateTrial(ctx context.Context, req *entitlementpb.CreateTrialRequest) (*entitlementpb.Trial, error) {
	t := req.GetTrial()
	product, err := names.OptionalID("trial.product", t.GetProduct(), "products")
	if err != nil {
		return nil, err
	}
	model, err := names.OptionalID("trial.license_model", t.GetLicenseModel(), "licenseModels")
	if err != nil {
		return nil, err
	}
	out, err := s.app.CreateTrial(ctx, app.Trial{
		PartNumber: t.GetPartNumber(), DisplayName: t.GetDisplayName(), ProductID: product, LicenseModelID: model,
		Quantity: t.GetQuantity(), DurationDays: int(t.GetDurationDays()),
	})
	if err != nil {
		return nil, err
	}
	return trialPB(out), nil
}

var productKinds = map[string]entitlementpb.ProductKind{
	app.ProductStandard:    entitlementpb.ProductKind_PRODUCT_KIND_STANDARD,
	app.ProductMaintenance: entitlementpb.ProductKind_PRODUCT_KIND_MAINTENANCE,
}

var productKindsBack = map[entitlementpb.ProductKind]string{
	entitlementpb.ProductKind_PRODUCT_KIND_STANDARD:    app.ProductStandard,
	entitlementpb.ProductKind_PRODUCT_KIND_MAINTENANCE: app.ProductMaintenance,
}

// productRefs are the resource names a product message refers to, parsed to IDs.
type productRefs struct {
	line                                string
	models, maintained, upgrade, upsell []string
}

func idsOf(field string, list []string, collection string) ([]string, error) {
	out := make([]string, 0, len(list))
	for i, name := range list {
		id, err := names.ID(fieldIndex(field, i), name, collection)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

func productRefsOf(p *entitlementpb.Product) (productRefs, error) {
	var r productRefs
	var err error
	if r.line, err = names.OptionalID("product.product_line", p.GetProductLine(), "productLines"); err != nil {
		return r, err
	}
	if r.models, err = idsOf("product.license_models", p.GetLicenseModels(), "licenseModels"); err != nil {
		return r, err
	}
	if r.maintained, err = idsOf("product.maintained_products", p.GetMaintainedProducts(), "products"); err != nil {
		return r, err
	}
	if r.upgrade, err = idsOf("product.upgrade_to", p.GetUpgradeTo(), "products"); err != nil {
		return r, err
	}
	r.upsell, err = idsOf("product.upsell_to", p.GetUpsellTo(), "products")
	return r, err
}

// UpdateProduct implements CatalogService.
func (s *Server) UpdateProduct(ctx context.Context, req *entitlementpb.UpdateProductRequest) (*entitlementpb.Product, error) {
	p := req.GetProduct()
	id, err := names.ID("product.name", p.GetName(), "products")
	if err != nil {
		return nil, err
	}
	refs, err := productRefsOf(p)
	if err != nil {
		return nil, err
	}
	var patch app.ProductPatch
	for _, path := range req.GetUpdateMask().GetPaths() {
		switch path {
		case "display_name":
			patch.DisplayName = &p.DisplayName
		case "version":
			patch.Version = &p.Version
		case "description":
			patch.Description = &p.Description
		case "part_numbers":
			patch.PartNumbers = &p.PartNumbers
		case "product_line":
			patch.ProductLineID = &refs.line
		case "license_models":
			patch.Models = &refs.models
		case "maintained_products":
			patch.MaintainedProductIDs = &refs.maintained
		case "upgrade_to":
			patch.UpgradeTo = &refs.upgrade
		case "upsell_to":
			patch.UpsellTo = &refs.upsell
		default:
			return nil, errs.Invalid("update_mask", "%q cannot be changed", path)
		}
	}
	if len(req.GetUpdateMask().GetPaths()) == 0 {
		return nil, errs.Invalid("update_mask", "names nothing to change")
	}
	out, err := s.app.UpdateProduct(ctx, id, patch)
	if err != nil {
		return nil, err
	}
	return productPB(out), nil
}

// ListProducts implements CatalogService.
func (s *Server) ListProducts(ctx context.Context, req *entitlementpb.ListProductsRequest) (*entitlementpb.ListProductsResponse, error) {
	list, next, err := s.app.ListProducts(ctx, filter.Query{
		Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize()),
	})
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.ListProductsResponse{NextPageToken: next}
	for _, p := range list {
		out.Products = append(out.Products, productPB(p))
	}
	return out, nil
}

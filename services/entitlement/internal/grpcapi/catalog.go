package grpcapi

import (
	"context"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/names"
)

func licenseModelPB(m app.LicenseModel) *entitlementpb.LicenseModel {
	return &entitlementpb.LicenseModel{
		Name: "licenseModels/" + m.ID, LicenseModelId: m.ID, DisplayName: m.DisplayName,
		Type: modelTypesBack[m.Type], AllowedHostIdTypes: m.AllowedHostIDTypes, CreateTime: ts(m.CreateTime),
	}
}

// CreateLicenseModel implements CatalogService.
func (s *Server) CreateLicenseModel(ctx context.Context, req *entitlementpb.CreateLicenseModelRequest) (*entitlementpb.LicenseModel, error) {
	m := req.GetLicenseModel()
	out, err := s.app.CreateLicenseModel(ctx, app.LicenseModel{
		ID: req.GetLicenseModelId(), DisplayName: m.GetDisplayName(), Type: modelTypes[m.GetType()],
		AllowedHostIDTypes: m.GetAllowedHostIdTypes(), RequestID: req.GetRequestId(),
	})
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
		ProductLine: productLineName(p.ProductLineID),
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
	line, err := names.OptionalID("product.product_line", p.GetProductLine(), "productLines")
	if err != nil {
		return nil, err
	}
	in.ProductLineID = line
	for i, name := range p.GetLicenseModels() {
		id, err := names.ID(fieldIndex("product.license_models", i), name, "licenseModels")
		if err != nil {
			return nil, err
		}
		in.LicenseModelIDs = append(in.LicenseModelIDs, id)
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
func (s *Server) ListServicePlans(ctx context.Context, _ *entitlementpb.ListServicePlansRequest) (*entitlementpb.ListServicePlansResponse, error) {
	plans, err := s.app.ListServicePlans(ctx)
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.ListServicePlansResponse{}
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
func (s *Server) ListProductLines(ctx context.Context, _ *entitlementpb.ListProductLinesRequest) (*entitlementpb.ListProductLinesResponse, error) {
	lines, err := s.app.ListProductLines(ctx)
	if err != nil {
		return nil, err
	}
	out := &entitlementpb.ListProductLinesResponse{}
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

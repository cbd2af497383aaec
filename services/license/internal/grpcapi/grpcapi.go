// Package grpcapi is the license service's thin gRPC layer.
package grpcapi

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/license/internal/app"
	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
	"github.com/tessera-dev/tessera/services/platform/names"
)

// Permissions declares what every RPC needs.
var Permissions = grpcx.Permissions{
	licensepb.LicenseService_ActivateLineItems_FullMethodName:         authz.LicensesGenerate,
	licensepb.LicenseService_ActivateLineItem_FullMethodName:          authz.LicensesGenerate,
	licensepb.LicenseService_GetFulfillment_FullMethodName:            authz.LicensesView,
	licensepb.LicenseService_ListFulfillments_FullMethodName:          authz.LicensesView,
	licensepb.LicenseService_TransferHosts_FullMethodName:             authz.LicensesGenerate,
	licensepb.LicenseService_GetJob_FullMethodName:                    authz.LicensesView,
	licensepb.LicenseService_ListHosts_FullMethodName:                 authz.LicensesView,
	licensepb.LicenseService_GetHostLicenses_FullMethodName:           authz.LicensesView,
	licensepb.LicenseService_BatchRehost_FullMethodName:               authz.LicensesAdmin,
	licensepb.LicenseService_TransferHostLicenses_FullMethodName:      authz.LicensesAdmin,
	licensepb.LicenseService_GetUpgradeGrid_FullMethodName:            authz.LicensesView,
	licensepb.LicenseService_UpgradeFulfillments_FullMethodName:       authz.LicensesGenerate,
	licensepb.LicenseService_ConsolidateFulfillments_FullMethodName:   authz.LicensesGenerate,
	licensepb.LicenseService_GetConsolidatedLicense_FullMethodName:    authz.LicensesView,
	licensepb.LicenseService_ListConsolidatedLicenses_FullMethodName:  authz.LicensesView,
	licensepb.LicenseService_EmailConsolidatedLicense_FullMethodName:  authz.LicensesView,
	licensepb.LicenseService_RehostConsolidatedLicense_FullMethodName: authz.LicensesGenerate,
	licensepb.LicenseService_ReturnFulfillment_FullMethodName:         authz.LicensesGenerate,
	licensepb.LicenseService_RepairFulfillment_FullMethodName:         authz.LicensesGenerate,
	licensepb.LicenseService_RehostFulfillment_FullMethodName:         authz.LicensesGenerate,
	licensepb.LicenseService_EmailFulfillment_FullMethodName:          authz.LicensesView,
	licensepb.LicenseService_ListSigningKeys_FullMethodName:           authz.SigningKeysView,
	licensepb.LicenseService_RotateSigningKey_FullMethodName:          authz.SigningKeysManage,
	licensepb.LicenseService_ListPublicKeys_FullMethodName:            authz.Public,
	licensepb.LicenseService_ValidateHostId_FullMethodName:            authz.LicensesGenerate,
	licensepb.LicenseService_GetLicenseSettings_FullMethodName:        authz.LicensesView,
	licensepb.LicenseService_UpdateLicenseSettings_FullMethodName:     authz.CatalogManage,
}

// Server implements LicenseService.
type Server struct {
	licensepb.UnimplementedLicenseServiceServer
	app *app.App
}

// New returns the gRPC handlers over the use cases.
func New(a *app.App) *Server { return &Server{app: a} }

var states = map[string]licensepb.FulfillmentState{
	app.StateActive:   licensepb.FulfillmentState_FULFILLMENT_STATE_ACTIVE,
	app.StateReturned: licensepb.FulfillmentState_FULFILLMENT_STATE_RETURNED,
	app.StateObsolete: licensepb.FulfillmentState_FULFILLMENT_STATE_OBSOLETE,
}

var supportTypes = map[string]licensepb.SupportType{
	app.SupportMaster: licensepb.SupportType_SUPPORT_TYPE_MASTER, app.SupportReturn: licensepb.SupportType_SUPPORT_TYPE_RETURN,
	app.SupportRepair: licensepb.SupportType_SUPPORT_TYPE_REPAIR, app.SupportRehost: licensepb.SupportType_SUPPORT_TYPE_REHOST,
	app.SupportObsolete: licensepb.SupportType_SUPPORT_TYPE_OBSOLETE, app.SupportUpgrade: licensepb.SupportType_SUPPORT_TYPE_UPGRADE,
	app.SupportUpsell: licensepb.SupportType_SUPPORT_TYPE_UPSELL, app.SupportRenew: licensepb.SupportType_SUPPORT_TYPE_RENEW,
	app.SupportTransfer: licensepb.SupportType_SUPPORT_TYPE_TRANSFER,
}

func ref(collection, id string) string {
	if id == "" {
		return ""
	}
	return collection + "/" + id
}

func fulfillmentPB(f app.Fulfillment) *licensepb.Fulfillment {
	out := &licensepb.Fulfillment{
		Name: "fulfillments/" + f.ID, FulfillmentId: f.ID, LineItem: "lineItems/" + f.ActivationID, HostId: f.HostID,
		Quantity: f.Quantity, State: states[f.State], LicenseText: f.LicenseText, SigningKey: ref("signingKeys", f.KeyID),
		Account: "accounts/" + f.AccountID, LicenseJson: f.LicenseJSON, SupportType: supportTypes[f.SupportType],
		Product: ref("products", f.ProductID), Version: f.Version, ServerHostIds: f.ServerHostIDs, NodelockedHostIds: f.NodeHostIDs,
		Overdraft: f.Overdraft, Parent: ref("fulfillments", f.ParentID), ConsolidatedLicense: ref("consolidatedLicenses", f.ConsolidatedID),
		Count: f.Count(), Attributes: f.Attributes,
	}
	if !f.CreateTime.IsZero() {
		out.CreateTime = timestamppb.New(f.CreateTime)
	}
	if f.ExpireTime != nil {
		out.ExpireTime = timestamppb.New(*f.ExpireTime)
	}
	return out
}

func consolidatedPB(c app.ConsolidatedLicense) *licensepb.ConsolidatedLicense {
	out := &licensepb.ConsolidatedLicense{
		Name: ref("consolidatedLicenses", c.ID), ConsolidatedLicenseId: c.ID, ServerHostIds: c.ServerHostIDs, Account: "accounts/" + c.AccountID,
		LicenseText: c.LicenseText, LicenseJson: c.LicenseJSON,
	}
	if !c.CreateTime.IsZero() {
		out.CreateTime = timestamppb.New(c.CreateTime)
	}
	for _, id := range c.FulfillmentIDs {
		out.Fulfillments = append(out.Fulfillments, "fulfillments/"+id)
	}
	out.LicenseTechnology = c.Technology
	if c.ReplacedBy != "" {
		out.ReplacedBy = ref("consolidatedLicenses", c.ReplacedBy)
	}
	if !c.RetireTime.IsZero() {
		out.RetireTime = timestamppb.New(c.RetireTime)
	}
	for _, sh := range c.Shipments {
		out.Shipments = append(out.Shipments, &licensepb.Shipment{To: sh.To, Time: timestamppb.New(sh.Time), User: ref("users", sh.UserID)})
	}
	return out
}

func consolidatedListPB(list []app.ConsolidatedLicense, validateOnly bool) *licensepb.ConsolidateFulfillmentsResponse {
	out := &licensepb.ConsolidateFulfillmentsResponse{ValidateOnly: validateOnly}
	for _, c := range list {
		out.ConsolidatedLicenses = append(out.ConsolidatedLicenses, consolidatedPB(c))
	}
	return out
}

// ConsolidateFulfillments implements LicenseService.
func (s *Server) ConsolidateFulfillments(ctx context.Context, req *licensepb.ConsolidateFulfillmentsRequest) (*licensepb.ConsolidateFulfillmentsResponse, error) {
	ids := make([]string, len(req.GetFulfillments()))
	for i, n := range req.GetFulfillments() {
		id, err := names.ID(fmt.Sprintf("fulfillments[%d]", i), n, "fulfillments")
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	list, err := s.app.ConsolidateFulfillments(ctx, ids, req.GetValidateOnly(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return consolidatedListPB(list, req.GetValidateOnly()), nil
}

// GetConsolidatedLicense implements LicenseService.
func (s *Server) GetConsolidatedLicense(ctx context.Context, req *licensepb.GetConsolidatedLicenseRequest) (*licensepb.ConsolidatedLicense, error) {
	id, err := names.ID("name", req.GetName(), "consolidatedLicenses")
	if err != nil {
		return nil, err
	}
	c, err := s.app.GetConsolidatedLicense(ctx, id)
	if err != nil {
		return nil, err
	}
	return consolidatedPB(c), nil
}

// ListConsolidatedLicenses implements LicenseService.
func (s *Server) ListConsolidatedLicenses(ctx context.Context, req *licensepb.ListConsolidatedLicensesRequest) (*licensepb.ListConsolidatedLicensesResponse, error) {
	list, next, err := s.app.ListConsolidatedLicenses(ctx, filter.Query{
		Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize()),
	})
	if err != nil {
		return nil, err
	}
	out := &licensepb.ListConsolidatedLicensesResponse{NextPageToken: next}
	for _, c := range list {
		out.ConsolidatedLicenses = append(out.ConsolidatedLicenses, consolidatedPB(c))
	}
	return out, nil
}

// EmailConsolidatedLicense implements LicenseService.
func (s *Server) EmailConsolidatedLicense(ctx context.Context, req *licensepb.EmailConsolidatedLicenseRequest) (*licensepb.ConsolidatedLicense, error) {
	id, err := names.ID("name", req.GetName(), "consolidatedLicenses")
	if err != nil {
		return nil, err
	}
	c, err := s.app.EmailConsolidatedLicense(ctx, id, req.GetTo())
	if err != nil {
		return nil, err
	}
	return consolidatedPB(c), nil
}

// RehostConsolidatedLicense implements LicenseService.
func (s *Server) RehostConsolidatedLicense(ctx context.Context, req *licensepb.RehostConsolidatedLicenseRequest) (*licensepb.ConsolidateFulfillmentsResponse, error) {
	id, err := names.ID("name", req.GetName(), "consolidatedLicenses")
	if err != nil {
		return nil, err
	}
	list, err := s.app.RehostConsolidatedLicense(ctx, id, req.GetServerHostIds(), req.GetValidateOnly(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return consolidatedListPB(list, req.GetValidateOnly()), nil
}

// ListFulfillments implements LicenseService.
func (s *Server) ListFulfillments(ctx context.Context, req *licensepb.ListFulfillmentsRequest) (*licensepb.ListFulfillmentsResponse, error) {
	list, next, err := s.app.ListFulfillments(ctx, filter.Query{
		Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize()),
	}, req.GetView() == licensepb.FulfillmentView_FULFILLMENT_VIEW_FULL)
	if err != nil {
		return nil, err
	}
	out := &licensepb.ListFulfillmentsResponse{NextPageToken: next}
	for _, f := range list {
		out.Fulfillments = append(out.Fulfillments, fulfillmentPB(f))
	}
	return out, nil
}

// EmailFulfillment implements LicenseService.
func (s *Server) EmailFulfillment(ctx context.Context, req *licensepb.EmailFulfillmentRequest) (*licensepb.EmailFulfillmentResponse, error) {
	id, err := names.ID("name", req.GetName(), "fulfillments")
	if err != nil {
		return nil, err
	}
	eventID, err := s.app.EmailFulfillment(ctx, id, req.GetTo())
	if err != nil {
		return nil, err
	}
	return &licensepb.EmailFulfillmentResponse{EventId: eventID.String()}, nil
}

// ActivateLineItem implements LicenseService.
func (s *Server) ActivateLineItem(ctx context.Context, req *licensepb.ActivateLineItemRequest) (*licensepb.Fulfillment, error) {
	activationID, err := names.ID("line_item", req.GetLineItem(), "lineItems")
	if err != nil {
		return nil, err
	}
	f, err := s.app.Activate(ctx, app.Activation{
		ActivationID: activationID, HostID: req.GetHostId(), Quantity: req.GetQuantity(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return fulfillmentPB(f), nil
}

// ActivateLineItems implements LicenseService.
func (s *Server) ActivateLineItems(ctx context.Context, req *licensepb.ActivateLineItemsRequest) (*licensepb.ActivateLineItemsResponse, error) {
	in := app.BatchActivation{ValidateOnly: req.GetValidateOnly(), RequestID: req.GetRequestId(), Attrs: attributesOf(req.GetAttributes())}
	for i, l := range req.GetLines() {
		id, err := names.ID(fmt.Sprintf("lines[%d].line_item", i), l.GetLineItem(), "lineItems")
		if err != nil {
			return nil, err
		}
		line := app.ActivationLine{ActivationID: id}
		for _, c := range l.GetCounts() {
			line.Counts = append(line.Counts, app.HostCount{Group: int(c.GetHost()), Count: c.GetCount(), Overdraft: c.GetOverdraft()})
		}
		in.Lines = append(in.Lines, line)
	}
	for _, h := range req.GetHosts() {
		in.Hosts = append(in.Hosts, app.HostGroup{Servers: h.GetServerHostIds(), Nodes: h.GetNodelockedHostIds()})
	}
	res, err := s.app.ActivateBatch(ctx, in)
	if err != nil {
		return nil, err
	}
	out := &licensepb.ActivateLineItemsResponse{ValidateOnly: res.ValidateOnly}
	for _, f := range res.Fulfillments {
		out.Fulfillments = append(out.Fulfillments, fulfillmentPB(f))
	}
	for _, c := range res.Consolidated {
		out.ConsolidatedLicenses = append(out.ConsolidatedLicenses, consolidatedPB(c))
	}
	return out, nil
}

func attributesOf(a *licensepb.FulfilAttributes) app.FulfilAttributes {
	if a == nil {
		a = &licensepb.FulfilAttributes{} // optional fields are read as pointers
	}
	out := app.FulfilAttributes{
		ShipToEmails: a.GetShipToEmails(), ShipToAddress: a.GetShipToAddress(), Consolidate: a.Consolidate,
		TerminalServer: a.TerminalServer, FlexIDSharing: a.FlexidSharing, UseServer: a.UseServer, TimeZone: a.GetTimeZone(),
		VMPlatforms: a.GetVmPlatforms(), Counting: a.GetCounting(), Issuer: a.GetIssuer(), SerialNumber: a.GetSerialNumber(),
		VendorString: a.GetVendorString(), Notice: a.GetNotice(), BorrowHours: a.BorrowHours, Platforms: a.GetPlatforms(),
	}
	if a.GetStartTime() != nil {
		t := a.GetStartTime().AsTime()
		out.StartTime = &t
	}
	if a.GetVersionDate() != nil {
		t := a.GetVersionDate().AsTime()
		out.VersionDate = &t
	}
	return out
}

// GetFulfillment implements LicenseService.
func (s *Server) GetFulfillment(ctx context.Context, req *licensepb.GetFulfillmentRequest) (*licensepb.Fulfillment, error) {
	id, err := names.ID("name", req.GetName(), "fulfillments")
	if err != nil {
		return nil, err
	}
	f, err := s.app.GetFulfillment(ctx, id)
	if err != nil {
		return nil, err
	}
	return fulfillmentPB(f), nil
}

var algorithms = map[string]licensepb.SigningAlgorithm{
	app.AlgEd25519: licensepb.SigningAlgorithm_SIGNING_ALGORITHM_ED25519,
	app.AlgES256:   licensepb.SigningAlgorithm_SIGNING_ALGORITHM_ES256,
}

func signingKeyPB(k app.SigningKey) *licensepb.SigningKey {
	out := &licensepb.SigningKey{
		Name: "signingKeys/" + k.ID, KeyId: k.ID, Algorithm: algorithms[k.Algorithm],
		PublicKey: k.Public, Active: k.Active, CreateTime: timestamppb.New(k.CreateTime),
	}
	if pemText, err := app.PublicKeyPEM(k); err == nil {
		out.PublicKeyPem = pemText
	}
	if k.RetireTime != nil {
		out.RetireTime = timestamppb.New(*k.RetireTime)
	}
	return out
}

func signingKeysPB(list []app.SigningKey) *licensepb.ListSigningKeysResponse {
	out := &licensepb.ListSigningKeysResponse{}
	for _, k := range list {
		out.SigningKeys = append(out.SigningKeys, signingKeyPB(k))
	}
	return out
}

// ListSigningKeys implements LicenseService.
func (s *Server) ListSigningKeys(ctx context.Context, _ *licensepb.ListSigningKeysRequest) (*licensepb.ListSigningKeysResponse, error) {
	list, err := s.app.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	return signingKeysPB(list), nil
}

// ListPublicKeys implements LicenseService.
func (s *Server) ListPublicKeys(ctx context.Context, req *licensepb.ListPublicKeysRequest) (*licensepb.ListSigningKeysResponse, error) {
	list, err := s.app.ListPublicKeys(ctx, req.GetTenantId())
	if err != nil {
		return nil, err
	}
	return signingKeysPB(list), nil
}

// RotateSigningKey implements LicenseService.
func (s *Server) RotateSigningKey(ctx context.Context, req *licensepb.RotateSigningKeyRequest) (*licensepb.SigningKey, error) {
	var alg string
	for name, v := range algorithms {
		if v == req.GetAlgorithm() {
			alg = name
		}
	}
	if alg == "" && req.GetAlgorithm() != licensepb.SigningAlgorithm_SIGNING_ALGORITHM_UNSPECIFIED {
		return nil, errs.Invalid("algorithm", "must be ED25519 or ES256")
	}
	k, err := s.app.RotateSigningKey(ctx, alg)
	if err != nil {
		return nil, err
	}
	return signingKeyPB(k), nil
}

var roles = map[licensepb.HostRole]licfile.Role{
	licensepb.HostRole_HOST_ROLE_NODELOCKED: licfile.RoleNodelocked,
	licensepb.HostRole_HOST_ROLE_SERVER:     licfile.RoleServer,
}

// ValidateHostId implements LicenseService.
func (s *Server) ValidateHostId(ctx context.Context, req *licensepb.ValidateHostIdRequest) (*licensepb.HostIdCheck, error) {
	in := app.HostCheck{HostID: req.GetHostId()}
	if r, ok := roles[req.GetRole()]; ok {
		in.Role = &r
	}
	if req.GetLineItem() != "" {
		id, err := names.ID("line_item", req.GetLineItem(), "lineItems")
		if err != nil {
			return nil, err
		}
		in.ActivationID = id
	}
	h, err := s.app.ValidateHostID(ctx, in)
	if err != nil {
		return nil, err
	}
	return &licensepb.HostIdCheck{HostId: h.String(), Kind: h.Kind(), Prefix: h.Prefix, VendorDefined: h.Vendor}, nil
}

func settingsPB(st app.Settings) *licensepb.LicenseSettings {
	out := &licensepb.LicenseSettings{Name: "licenseSettings", RelaxIpValidation: st.RelaxIPValidation}
	if !st.UpdateTime.IsZero() {
		out.UpdateTime = timestamppb.New(st.UpdateTime)
	}
	return out
}

// GetLicenseSettings implements LicenseService.
func (s *Server) GetLicenseSettings(ctx context.Context, _ *licensepb.GetLicenseSettingsRequest) (*licensepb.LicenseSettings, error) {
	st, err := s.app.GetSettings(ctx)
	if err != nil {
		return nil, err
	}
	return settingsPB(st), nil
}

// UpdateLicenseSettings implements LicenseService.
func (s *Server) UpdateLicenseSettings(ctx context.Context, req *licensepb.UpdateLicenseSettingsRequest) (*licensepb.LicenseSettings, error) {
	var p app.SettingsPatch
	if len(req.GetUpdateMask().GetPaths()) == 0 {
		return nil, errs.Invalid("update_mask", "name the settings to change (relaxIpValidation)")
	}
	for _, path := range req.GetUpdateMask().GetPaths() {
		switch path {
		case "relaxIpValidation", "relax_ip_validation":
			v := req.GetSettings().GetRelaxIpValidation()
			p.RelaxIPValidation = &v
		default:
			return nil, errs.Invalid("update_mask", "%q is not a setting", path)
		}
	}
	st, err := s.app.UpdateSettings(ctx, p)
	if err != nil {
		return nil, err
	}
	return settingsPB(st), nil
}

func lifecyclePB(r app.LifecycleResult) *licensepb.LifecycleResult {
	out := &licensepb.LifecycleResult{ValidateOnly: r.ValidateOnly}
	if len(r.Replaced) > 0 {
		out.Replaced = fulfillmentPB(r.Replaced[0])
	}
	for _, f := range r.Created {
		out.Created = append(out.Created, fulfillmentPB(f))
	}
	return out
}

// ReturnFulfillment implements LicenseService.
func (s *Server) ReturnFulfillment(ctx context.Context, req *licensepb.ReturnFulfillmentRequest) (*licensepb.LifecycleResult, error) {
	id, err := names.ID("name", req.GetName(), "fulfillments")
	if err != nil {
		return nil, err
	}
	r, err := s.app.ReturnFulfillment(ctx, id, app.Part{Count: req.Count, Overdraft: req.Overdraft}, req.GetValidateOnly(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return lifecyclePB(r), nil
}

// RepairFulfillment implements LicenseService.
func (s *Server) RepairFulfillment(ctx context.Context, req *licensepb.RepairFulfillmentRequest) (*licensepb.LifecycleResult, error) {
	id, err := names.ID("name", req.GetName(), "fulfillments")
	if err != nil {
		return nil, err
	}
	r, err := s.app.RepairFulfillment(ctx, id, attributesOf(req.GetAttributes()), req.GetValidateOnly(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return lifecyclePB(r), nil
}

// RehostFulfillment implements LicenseService.
func (s *Server) RehostFulfillment(ctx context.Context, req *licensepb.RehostFulfillmentRequest) (*licensepb.LifecycleResult, error) {
	id, err := names.ID("name", req.GetName(), "fulfillments")
	if err != nil {
		return nil, err
	}
	hosts := app.HostGroup{Servers: req.GetHosts().GetServerHostIds(), Nodes: req.GetHosts().GetNodelockedHostIds()}
	r, err := s.app.RehostFulfillment(ctx, id, hosts, app.Part{Count: req.Count, Overdraft: req.Overdraft}, req.GetValidateOnly(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return lifecyclePB(r), nil
}

// GetUpgradeGrid implements LicenseService.
func (s *Server) GetUpgradeGrid(ctx context.Context, req *licensepb.GetUpgradeGridRequest) (*licensepb.UpgradeGrid, error) {
	id, err := names.ID("line_item", req.GetLineItem(), "lineItems")
	if err != nil {
		return nil, err
	}
	g, err := s.app.GetUpgradeGrid(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &licensepb.UpgradeGrid{
		LineItem: "lineItems/" + g.Line.ActivationID, Parent: "lineItems/" + g.Parent.ActivationID,
		Kind: strings.ToUpper(g.Line.Kind), Available: g.Line.Available,
	}
	for _, r := range g.Rows {
		row := &licensepb.UpgradeGridRow{ServerHostIds: r.Servers, NodelockedHostIds: r.Nodes, Copies: r.Copies}
		for _, f := range r.Fulfillments {
			row.Fulfillments = append(row.Fulfillments, "fulfillments/"+f.ID)
		}
		out.Rows = append(out.Rows, row)
	}
	return out, nil
}

// UpgradeFulfillments implements LicenseService.
func (s *Server) UpgradeFulfillments(ctx context.Context, req *licensepb.UpgradeFulfillmentsRequest) (*licensepb.UpgradeFulfillmentsResponse, error) {
	id, err := names.ID("line_item", req.GetLineItem(), "lineItems")
	if err != nil {
		return nil, err
	}
	moves := make([]app.UpgradeMove, len(req.GetMoves()))
	for i, m := range req.GetMoves() {
		moves[i] = app.UpgradeMove{Servers: m.GetServerHostIds(), Nodes: m.GetNodelockedHostIds(), Count: m.GetCount()}
	}
	r, err := s.app.UpgradeFulfillments(ctx, id, moves, req.GetValidateOnly(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	out := &licensepb.UpgradeFulfillmentsResponse{ValidateOnly: r.ValidateOnly}
	for _, f := range r.Replaced {
		out.Replaced = append(out.Replaced, fulfillmentPB(f))
	}
	for _, f := range r.Created {
		out.Created = append(out.Created, fulfillmentPB(f))
	}
	return out, nil
}

func adminPB(r app.AdminResult) *licensepb.BatchRehostResponse {
	out := &licensepb.BatchRehostResponse{ValidateOnly: r.ValidateOnly}
	for _, m := range r.Moves {
		out.Moves = append(out.Moves, &licensepb.RehostMove{
			Fulfillment: "fulfillments/" + m.FulfillmentID, FromHostIds: append(append([]string{}, m.From.Servers...), m.From.Nodes...),
			ToHostIds: append(append([]string{}, m.To.Servers...), m.To.Nodes...), Count: m.Count, Overdraft: m.Overdraft,
		})
	}
	for _, f := range r.Created {
		out.Created = append(out.Created, fulfillmentPB(f))
	}
	for _, c := range r.Consolidated {
		out.ConsolidatedLicenses = append(out.ConsolidatedLicenses, consolidatedPB(c))
	}
	return out
}

// BatchRehost implements LicenseService.
func (s *Server) BatchRehost(ctx context.Context, req *licensepb.BatchRehostRequest) (*licensepb.BatchRehostResponse, error) {
	account, err := names.ID("parent", req.GetParent(), "accounts")
	if err != nil {
		return nil, err
	}
	targets := map[string][]app.ServerCount{}
	for product, list := range req.GetTargets() {
		id := strings.TrimPrefix(product, "products/")
		for _, sc := range list.GetServers() {
			targets[id] = append(targets[id], app.ServerCount{Servers: sc.GetServerHostIds(), Count: sc.GetCount()})
		}
	}
	for _, p := range req.GetProducts() {
		if _, ok := targets[strings.TrimPrefix(p, "products/")]; !ok {
			return nil, errs.Invalid("targets", "%s has no targets", p)
		}
	}
	r, err := s.app.BatchRehost(ctx, account, targets, req.GetValidateOnly(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return adminPB(r), nil
}

// TransferHostLicenses implements LicenseService.
func (s *Server) TransferHostLicenses(ctx context.Context, req *licensepb.TransferHostLicensesRequest) (*licensepb.BatchRehostResponse, error) {
	account, err := names.ID("parent", req.GetParent(), "accounts")
	if err != nil {
		return nil, err
	}
	r, err := s.app.TransferHostLicenses(ctx, account, req.GetFromHostId(), req.GetToHostId(), req.GetConsolidate(), req.GetValidateOnly(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return adminPB(r), nil
}

// ListHosts implements LicenseService.
func (s *Server) ListHosts(ctx context.Context, req *licensepb.ListHostsRequest) (*licensepb.ListHostsResponse, error) {
	account, err := names.ID("parent", req.GetParent(), "accounts")
	if err != nil {
		return nil, err
	}
	list, next, err := s.app.ListHosts(ctx, account, filter.Query{
		Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize()),
	})
	if err != nil {
		return nil, err
	}
	out := &licensepb.ListHostsResponse{NextPageToken: next}
	for _, h := range list {
		out.Hosts = append(out.Hosts, &licensepb.Host{
			HostId: h.HostID, Kind: h.Kind, Account: "accounts/" + h.AccountID, Fulfillments: h.Fulfillments, Seats: h.Seats,
			FirstUseTime: timestamppb.New(h.FirstUse), LastUseTime: timestamppb.New(h.LastUse),
		})
	}
	return out, nil
}

// GetHostLicenses implements LicenseService.
func (s *Server) GetHostLicenses(ctx context.Context, req *licensepb.GetHostLicensesRequest) (*licensepb.HostLicenses, error) {
	account, err := names.ID("parent", req.GetParent(), "accounts")
	if err != nil {
		return nil, err
	}
	hl, err := s.app.GetHostLicenses(ctx, account, req.GetHostId())
	if err != nil {
		return nil, err
	}
	out := &licensepb.HostLicenses{HostId: hl.HostID}
	for _, f := range hl.Fulfillments {
		out.Fulfillments = append(out.Fulfillments, fulfillmentPB(f))
	}
	for _, c := range hl.Consolidated {
		out.ConsolidatedLicenses = append(out.ConsolidatedLicenses, consolidatedPB(c))
	}
	return out, nil
}

var jobStates = map[string]licensepb.JobState{
	app.JobQueued: licensepb.JobState_JOB_STATE_QUEUED, app.JobRunning: licensepb.JobState_JOB_STATE_RUNNING,
	app.JobSucceeded: licensepb.JobState_JOB_STATE_SUCCEEDED, app.JobFailed: licensepb.JobState_JOB_STATE_FAILED,
}

func jobPB(j app.Job) *licensepb.Job {
	out := &licensepb.Job{
		Name: "jobs/" + j.ID, JobId: j.ID, Kind: j.Kind, State: jobStates[j.State], Done: int32(j.Done), Total: int32(j.Total), //nolint:gosec // bounded by maxTransferHosts' fulfillments
		Error: j.Error, CreateTime: timestamppb.New(j.CreateTime), UpdateTime: timestamppb.New(j.UpdateTime),
	}
	for _, id := range j.Created {
		out.Created = append(out.Created, "fulfillments/"+id)
	}
	return out
}

// TransferHosts implements LicenseService.
func (s *Server) TransferHosts(ctx context.Context, req *licensepb.TransferHostsRequest) (*licensepb.Job, error) {
	account, err := names.ID("parent", req.GetParent(), "accounts")
	if err != nil {
		return nil, err
	}
	to, err := names.ID("to_account", req.GetToAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	j, err := s.app.TransferHosts(ctx, account, req.GetHostIds(), to, req.GetPool(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return jobPB(j), nil
}

// GetJob implements LicenseService.
func (s *Server) GetJob(ctx context.Context, req *licensepb.GetJobRequest) (*licensepb.Job, error) {
	id, err := names.ID("name", req.GetName(), "jobs")
	if err != nil {
		return nil, err
	}
	j, err := s.app.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	return jobPB(j), nil
}

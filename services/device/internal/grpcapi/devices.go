package grpcapi

import (
	"context"
	"slices"

	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/names"
	"github.com/tessera-dev/tessera/services/platform/validate"
)

// CreateDevice implements DeviceService.
func (s *Server) CreateDevice(ctx context.Context, req *devicepb.CreateDeviceRequest) (*devicepb.Device, error) {
	d, err := deviceFrom("device.", req.GetDevice())
	if err != nil {
		return nil, err
	}
	d.ID, d.RequestID = req.GetDeviceId(), req.GetRequestId()
	out, err := s.app.CreateDevice(ctx, d)
	if err != nil {
		return nil, err
	}
	return devicePB(out), nil
}

// GetDevice implements DeviceService.
func (s *Server) GetDevice(ctx context.Context, req *devicepb.GetDeviceRequest) (*devicepb.Device, error) {
	id, err := names.ID("name", req.GetName(), "devices")
	if err != nil {
		return nil, err
	}
	out, err := s.app.GetDevice(ctx, id)
	if err != nil {
		return nil, err
	}
	return devicePB(out), nil
}

// UpdateDevice implements DeviceService.
func (s *Server) UpdateDevice(ctx context.Context, req *devicepb.UpdateDeviceRequest) (*devicepb.Device, error) {
	id, err := names.ID("device.name", req.GetDevice().GetName(), "devices")
	if err != nil {
		return nil, err
	}
	patch, err := deviceFrom("device.", req.GetDevice())
	if err != nil {
		return nil, err
	}
	patch.ID = id
	out, err := s.app.UpdateDevice(ctx, patch, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return devicePB(out), nil
}

// ListDevices implements DeviceService.
func (s *Server) ListDevices(ctx context.Context, req *devicepb.ListDevicesRequest) (*devicepb.ListDevicesResponse, error) {
	q := app.DeviceQuery{
		Query: filter.Query{Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize())},
		Type:  types[req.GetType()], Status: statuses[req.GetStatus()],
	}
	list, next, err := s.app.ListDevices(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &devicepb.ListDevicesResponse{NextPageToken: next}
	for _, d := range list {
		out.Devices = append(out.Devices, devicePB(d))
	}
	return out, nil
}

// ImportDevices implements DeviceService. CSV rows are checked by the same string
// rule as listed ones (the interceptor checks only the request's own fields).
func (s *Server) ImportDevices(ctx context.Context, req *devicepb.ImportDevicesRequest) (*devicepb.ImportDevicesResponse, error) {
	rows := make([]app.Device, len(req.GetDevices()))
	var rowErrors []*devicepb.ImportRowError
	refuse := func(i int, err error) {
		e, _ := errs.As(err)
		for _, v := range e.Violations {
			rowErrors = append(rowErrors, &devicepb.ImportRowError{Row: int32(i + 1), Field: v.Field, Description: v.Description}) //nolint:gosec // at most 5,000 rows
		}
		rows[i] = app.Device{Type: rejectedRow}
	}
	for i, d := range req.GetDevices() {
		row, err := deviceFrom("device.", d)
		if _, ok := errs.As(err); ok {
			refuse(i, err)
			continue
		} else if err != nil {
			return nil, err
		}
		rows[i] = row
	}
	csv := req.GetCsv()
	if csv != "" && len(rows) == 0 {
		parsed, err := app.ParseImportCSV(csv)
		if err != nil {
			return nil, err
		}
		rows, csv = parsed, ""
		for i, d := range rows {
			if err := validate.Message(csvRow(d)); err != nil {
				if e, ok := errs.As(err); ok {
					for j := range e.Violations {
						e.Violations[j].Field = "device." + e.Violations[j].Field
					}
				}
				refuse(i, err)
			}
		}
	}
	res, err := s.app.ImportDevices(ctx, rows, csv)
	if err != nil {
		return nil, err
	}
	out := &devicepb.ImportDevicesResponse{Created: int32(res.Created), Unchanged: int32(res.Unchanged)} //nolint:gosec // at most 5,000 rows
	for _, id := range res.Devices {
		out.Devices = append(out.Devices, "devices/"+id)
	}
	for _, e := range res.Errors {
		// A row refused here is reported once, for what was found here.
		if slices.ContainsFunc(rowErrors, func(r *devicepb.ImportRowError) bool { return int(r.GetRow()) == e.Row }) {
			continue
		}
		rowErrors = append(rowErrors, &devicepb.ImportRowError{Row: int32(e.Row), Field: e.Field, Description: e.Description}) //nolint:gosec // at most 5,000 rows
	}
	slices.SortStableFunc(rowErrors, func(a, b *devicepb.ImportRowError) int { return int(a.GetRow() - b.GetRow()) })
	out.Errors = rowErrors
	return out, nil
}

// rejectedRow marks a row refused before the use case sees it: it refuses the type,
// and that second refusal is not reported.
const rejectedRow = "rejected"

// csvRow is an import CSV row as the message it stands for.
func csvRow(d app.Device) *devicepb.Device {
	return &devicepb.Device{
		DeviceId: d.ID, IdType: d.IDType, HostId: d.HostID, DisplayName: d.DisplayName, Account: d.AccountID,
		Model: d.Model, Series: d.Series, SiteName: d.SiteName, Notes: d.Notes, DeviceUser: d.DeviceUser,
	}
}

func featurePB(f app.DeviceFeature) *devicepb.DeviceFeature {
	out := &devicepb.DeviceFeature{Name: f.Name, Version: f.Version, Count: f.Count, ExpireTime: timestamp(f.ExpireTime)}
	for _, id := range f.LineItems {
		out.LineItems = append(out.LineItems, "lineItems/"+id)
	}
	return out
}

// GetLicensePreview implements DeviceService.
func (s *Server) GetLicensePreview(ctx context.Context, req *devicepb.GetLicensePreviewRequest) (*devicepb.LicensePreview, error) {
	id, err := names.ID("name", req.GetName(), "devices")
	if err != nil {
		return nil, err
	}
	p, err := s.app.GetLicensePreview(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &devicepb.LicensePreview{TotalFeatures: int32(p.Total)} //nolint:gosec // features of at most a few thousand products
	for _, f := range p.Features {
		out.Features = append(out.Features, featurePB(f))
	}
	if p.Total > len(p.Features) {
		out.More = "/v1/devices/" + id + "/features"
	}
	return out, nil
}

// ListDeviceFeatures implements DeviceService.
func (s *Server) ListDeviceFeatures(ctx context.Context, req *devicepb.ListDeviceFeaturesRequest) (*devicepb.ListDeviceFeaturesResponse, error) {
	id, err := names.ID("parent", req.GetParent(), "devices")
	if err != nil {
		return nil, err
	}
	list, next, err := s.app.ListDeviceFeatures(ctx, id, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &devicepb.ListDeviceFeaturesResponse{NextPageToken: next}
	for _, f := range list {
		out.Features = append(out.Features, featurePB(f))
	}
	return out, nil
}

// SetServerAdminPassword implements DeviceService.
func (s *Server) SetServerAdminPassword(ctx context.Context, req *devicepb.SetServerAdminPasswordRequest) (*devicepb.Device, error) {
	id, err := names.ID("name", req.GetName(), "devices")
	if err != nil {
		return nil, err
	}
	out, err := s.app.SetServerAdminPassword(ctx, id, req.GetPassword(), req.GetConfirmPassword())
	if err != nil {
		return nil, err
	}
	return devicePB(out), nil
}

func idTypePB(t app.IDType) *devicepb.DeviceIdType {
	return &devicepb.DeviceIdType{
		Name: "deviceIdTypes/" + t.Name, IdType: t.Name, DisplayName: t.DisplayName, Pattern: t.Pattern,
		CaseInsensitive: t.CaseInsensitive, BuiltIn: t.BuiltIn, CreateTime: timestamp(t.CreateTime),
	}
}

// CreateDeviceIdType implements DeviceService.
func (s *Server) CreateDeviceIdType(ctx context.Context, req *devicepb.CreateDeviceIdTypeRequest) (*devicepb.DeviceIdType, error) {
	t := req.GetDeviceIdType()
	out, err := s.app.CreateDeviceIdType(ctx, app.IDType{
		Name: t.GetIdType(), DisplayName: t.GetDisplayName(), Pattern: t.GetPattern(), CaseInsensitive: t.GetCaseInsensitive(),
	})
	if err != nil {
		return nil, err
	}
	return idTypePB(out), nil
}

// ListDeviceIdTypes implements DeviceService.
func (s *Server) ListDeviceIdTypes(ctx context.Context, _ *devicepb.ListDeviceIdTypesRequest) (*devicepb.ListDeviceIdTypesResponse, error) {
	list, err := s.app.ListDeviceIdTypes(ctx)
	if err != nil {
		return nil, err
	}
	out := &devicepb.ListDeviceIdTypesResponse{}
	for _, t := range list {
		out.DeviceIdTypes = append(out.DeviceIdTypes, idTypePB(t))
	}
	return out, nil
}

func settingsPB(st app.Settings) *devicepb.DeviceSettings {
	return &devicepb.DeviceSettings{
		Name: "deviceSettings", SkipAccountCheck: st.SkipAccountCheck, DeviceUserMode: keyOf(userModes, st.DeviceUserMode),
		UpdateTime: timestamp(st.UpdateTime),
	}
}

// GetDeviceSettings implements DeviceService.
func (s *Server) GetDeviceSettings(ctx context.Context, _ *devicepb.GetDeviceSettingsRequest) (*devicepb.DeviceSettings, error) {
	st, err := s.app.GetDeviceSettings(ctx)
	if err != nil {
		return nil, err
	}
	return settingsPB(st), nil
}

// UpdateDeviceSettings implements DeviceService.
func (s *Server) UpdateDeviceSettings(ctx context.Context, req *devicepb.UpdateDeviceSettingsRequest) (*devicepb.DeviceSettings, error) {
	in := req.GetSettings()
	mode, known := userModes[in.GetDeviceUserMode()]
	if !known && in.GetDeviceUserMode() != devicepb.DeviceUserMode_DEVICE_USER_MODE_UNSPECIFIED {
		return nil, errs.Invalid("settings.device_user_mode", "is DEVICE_USER_MODE_OFF, _FREE_TEXT or _EXISTING_USER")
	}
	st, err := s.app.UpdateDeviceSettings(ctx, app.Settings{SkipAccountCheck: in.GetSkipAccountCheck(), DeviceUserMode: mode}, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return settingsPB(st), nil
}

// CountAccountDevices implements DeviceService.
func (s *Server) CountAccountDevices(ctx context.Context, req *devicepb.CountAccountDevicesRequest) (*devicepb.CountAccountDevicesResponse, error) {
	n, err := s.app.CountAccountDevices(ctx, req.GetAccountIds())
	if err != nil {
		return nil, err
	}
	return &devicepb.CountAccountDevicesResponse{Devices: n}, nil
}

package app

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// MaxImportRows bounds one import (SPEC DEV-4).
const MaxImportRows = 5000

// ImportColumns are the columns an import CSV may have, in any order; the header
// names them.
var ImportColumns = []string{"device_id", "id_type", "host_id", "display_name", "type", "account", "model", "series", "site_name", "notes", "device_user"}

// ImportOutcome is what became of one row the store was given.
type ImportOutcome struct {
	// ID is the device the row is: created now or found unchanged.
	ID        string
	Created   bool
	Unchanged bool
	// Conflict explains why the row was refused: a device with its ID or identity
	// exists with other details.
	Conflict string
}

// ImportStore stores imported devices set-based.
type ImportStore interface {
	// ImportDevices stores, in one transaction and a few statements, the rows that
	// are new, each with a DeviceCreated event (imported), and reports every row's
	// outcome in order.
	ImportDevices(ctx context.Context, tenant string, rows []Device) ([]ImportOutcome, error)
}

// ImportRowError is a refused import row.
type ImportRowError struct {
	Row         int // 1-based
	Field       string
	Description string
}

// ImportResult is an import's answer.
type ImportResult struct {
	Created, Unchanged int
	Errors             []ImportRowError
	// Devices are the IDs of the created or unchanged rows, in row order.
	Devices []string
}

// ImportDevices stores many devices at once, owned or unowned (SPEC DEV-4): each row
// is checked like CreateDevice, good rows are stored, bad ones reported; a row whose
// device exists unchanged counts as unchanged, so repeating an import creates nothing.
func (a *App) ImportDevices(ctx context.Context, rows []Device, csvText string) (ImportResult, error) {
	if len(rows) > 0 && csvText != "" {
		return ImportResult{}, errs.Invalid("csv", "give the devices as a list or as CSV, not both")
	}
	if csvText != "" {
		var err error
		if rows, err = ParseImportCSV(csvText); err != nil {
			return ImportResult{}, err
		}
	}
	if len(rows) == 0 {
		return ImportResult{}, errs.Invalid("devices", "give at least one device")
	}
	if len(rows) > MaxImportRows {
		return ImportResult{}, errs.Invalid("devices", "at most %d devices per import, not %d", MaxImportRows, len(rows))
	}
	c, err := a.newChecks(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	var res ImportResult
	var good []Device
	var goodRows []int
	seenID := map[string]int{}
	seenIdentity := map[string]int{}
	for i, d := range rows {
		row := i + 1
		var v errs.Violations
		if d.ID != "" && !ids.ValidResourceID(d.ID) {
			v.Add("device.device_id", "must be 1-64 letters, digits, '.', '_' or '-'")
		}
		if d.Deployment == DeploymentCloud {
			v.Add("device.deployment", "cloud license servers get generated IDs: create them one by one")
		}
		if d.HostID == "" {
			v.Add("device.host_id", "is required: an import finds existing devices by their identity")
		}
		if err := c.device(ctx, &v, "device.", &d); err != nil {
			return ImportResult{}, err
		}
		if e, ok := errs.As(v.Err()); ok {
			for _, fv := range e.Violations {
				res.Errors = append(res.Errors, ImportRowError{Row: row, Field: fv.Field, Description: fv.Description})
			}
			continue
		}
		identity := d.Type + "\x00" + d.IDType + "\x00" + d.HostID
		if d.ID == "" {
			// Derived from the identity, so that importing the row again names the same device.
			d.ID = "DEV-" + ids.FromKey(c.tenant, "device-import", identity).String()[:18]
		}
		if first, dup := seenIdentity[identity]; dup {
			res.Errors = append(res.Errors, ImportRowError{Row: row, Field: "device.host_id", Description: fmt.Sprintf("repeats the device of row %d", first)})
			continue
		}
		if first, dup := seenID[d.ID]; dup {
			res.Errors = append(res.Errors, ImportRowError{Row: row, Field: "device.device_id", Description: fmt.Sprintf("repeats the device ID of row %d", first)})
			continue
		}
		seenIdentity[identity], seenID[d.ID] = row, row
		good = append(good, d)
		goodRows = append(goodRows, row)
	}
	if len(good) == 0 {
		return res, nil
	}
	outcomes, err := a.store.ImportDevices(ctx, c.tenant, good)
	if err != nil {
		return ImportResult{}, err
	}
	for i, o := range outcomes {
		switch {
		case o.Created:
			res.Created++
			res.Devices = append(res.Devices, o.ID)
		case o.Unchanged:
			res.Unchanged++
			res.Devices = append(res.Devices, o.ID)
		default:
			res.Errors = append(res.Errors, ImportRowError{Row: goodRows[i], Field: "device.host_id", Description: o.Conflict})
		}
	}
	slices.SortStableFunc(res.Errors, func(x, y ImportRowError) int { return x.Row - y.Row })
	return res, nil
}

// ParseImportCSV reads an import CSV: a header naming ImportColumns (any order,
// device_id … device_user), then one device per line.
func ParseImportCSV(text string) ([]Device, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, errs.Invalid("csv", "needs a header line naming its columns (%s)", strings.Join(ImportColumns, ","))
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(ImportColumns, h) {
			return nil, errs.Invalid("csv", "unknown column %q (columns: %s)", h, strings.Join(ImportColumns, ","))
		}
		if _, dup := col[h]; dup {
			return nil, errs.Invalid("csv", "column %q appears twice", h)
		}
		col[h] = i
	}
	var out []Device
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errs.Invalid("csv", "line %d: %s", len(out)+2, err)
		}
		if len(out) == MaxImportRows {
			return nil, errs.Invalid("csv", "at most %d devices per import", MaxImportRows)
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		out = append(out, Device{
			ID: get("device_id"), IDType: get("id_type"), HostID: get("host_id"), DisplayName: get("display_name"),
			Type: ImportType(get("type")), AccountID: strings.TrimPrefix(get("account"), "accounts/"),
			Model: get("model"), Series: get("series"), SiteName: get("site_name"), Notes: get("notes"), DeviceUser: get("device_user"),
		})
	}
	return out, nil
}

// ImportType reads a CSV type cell: STANDALONE (or CLIENT, or empty) or SERVER, with
// or without the DEVICE_TYPE_ prefix. Anything else is kept so validation names it.
func ImportType(s string) string {
	switch strings.TrimPrefix(strings.ToUpper(s), "DEVICE_TYPE_") {
	case "", "STANDALONE", "CLIENT":
		return TypeClient
	case "SERVER":
		return TypeServer
	case "SERVED_CLIENT":
		return TypeServedClient
	}
	return "unknown:" + s
}

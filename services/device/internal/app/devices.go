package app

import (
	"context"
	"slices"
	"strings"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// DeviceStore keeps devices.
type DeviceStore interface {
	// CreateDevice stores d with its DeviceCreated event, or returns the device an
	// earlier create with the same request ID stored.
	// CreateDevice stores d, or returns the device made earlier under its request
	// ID (replayed).
	CreateDevice(ctx context.Context, tenant string, d Device) (out Device, replayed bool, err error)
	GetDevice(ctx context.Context, tenant, id string) (Device, error)
	// UpdateDevice applies change to the locked row and stores it with a DeviceUpdated
	// event naming the fields change reports; no fields: nothing is written.
	UpdateDevice(ctx context.Context, tenant, id string, change func(d *Device) (fields []string, err error)) (Device, error)
	// SetAdminPassword stores a cloud server's password hash with its event.
	SetAdminPassword(ctx context.Context, tenant, id, hash string) (Device, error)
	ListDevices(ctx context.Context, tenant string, scope Scope, q DeviceQuery) ([]Device, string, error)
	CountDevices(ctx context.Context, tenant string, accountIDs []string) (int64, error)
}

// DeviceQuery is a ListDevices request: the filter, order and page, and the type and
// status shortcuts ("" for any).
type DeviceQuery struct {
	filter.Query
	Type, Status string
}

// maxAttributes bounds a device's custom attributes.
const maxAttributes = 50

// UpdatablePaths are the fields UpdateDevice changes.
var UpdatablePaths = []string{
	"display_name", "model", "series", "site_name", "notes", "device_user", "backup_server",
	"publisher_identity", "attributes", "virtualization", "status",
}

// checks carries what validating devices needs per request: the tenant's rules and
// settings, and the answers of lookups already made (imports check many rows).
type checks struct {
	a        *App
	p        *commonpb.Principal
	tenant   string
	rules    licfile.Rules
	settings Settings
	idTypes  map[string]*IDType // nil entry: no such type
	accounts map[string]bool
	users    map[string]bool
	backups  map[string]error
	// withheld: the accounts hidden from a partner caller, once looked up (then
	// never nil).
	withheld []string
}

func (a *App) newChecks(ctx context.Context) (*checks, error) {
	p, _ := authz.FromContext(ctx)
	c := &checks{
		a: a, p: p, tenant: p.GetTenantId(), idTypes: map[string]*IDType{}, accounts: map[string]bool{},
		users: map[string]bool{}, backups: map[string]error{},
	}
	relax, err := a.rules.RelaxIP(ctx)
	if err != nil {
		return nil, err
	}
	c.rules = licfile.Rules{RelaxIP: relax}
	if c.settings, err = a.store.GetSettings(ctx, c.tenant); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *checks) idType(ctx context.Context, name string) (*IDType, error) {
	if t, ok := c.idTypes[name]; ok {
		return t, nil
	}
	t, found, err := c.a.resolveIDType(ctx, c.tenant, name)
	if err != nil {
		return nil, err
	}
	var out *IDType
	if found {
		out = &t
	}
	c.idTypes[name] = out
	return out, nil
}

// identity checks and normalises the device's ID type and host ID. An empty ID type
// with a host ID reads the host ID in the license host ID syntax (SPEC LIC-3, the
// tenant's rules) and files it under the matching device ID type, else EXTENDED.
func (c *checks) identity(ctx context.Context, v *errs.Violations, prefix string, d *Device) error {
	if d.IDType == "" && d.HostID == "" {
		d.IDType = IDString
		return nil
	}
	if d.IDType == "" {
		h, err := licfile.ParseHostID(d.HostID, c.rules)
		if err != nil {
			v.Add(prefix+"host_id", "%s", err)
			return nil
		}
		d.IDType, d.HostID = hostIDType(h)
		return nil
	}
	d.IDType = strings.ToUpper(d.IDType)
	t, err := c.idType(ctx, d.IDType)
	if err != nil {
		return err
	}
	if t == nil {
		v.Add(prefix+"id_type", "%q is not an ID type of this tenant (see ListDeviceIdTypes)", d.IDType)
		return nil
	}
	if d.HostID == "" {
		v.Add(prefix+"host_id", "is required with an id_type")
		return nil
	}
	n, err := NormalizeID(*t, d.HostID, c.rules)
	if err != nil {
		v.Add(prefix+"host_id", "not a valid %s ID: %s", d.IDType, err)
		return nil
	}
	d.HostID = n
	return nil
}

// hostIDType files a license host ID under a device ID type.
func hostIDType(h licfile.HostID) (idType, value string) {
	switch {
	case h.Prefix == "" && h.Type == licfile.HostEther:
		return IDEther, h.Value
	case h.Prefix == "" && h.Type == licfile.HostInternet && !strings.Contains(h.Value, "*"):
		return IDInternet, h.Value
	case h.Prefix == "" && h.Type == licfile.HostUser:
		return IDUser, h.Value
	case h.Prefix == "VM_" && h.Type == licfile.HostUUID:
		return IDVMUUID, h.Value
	case h.Prefix == "" && h.Type == licfile.HostFlexID && strings.HasPrefix(h.Value, "9-"):
		if n, err := flexIDChecker("9")(h.Value, licfile.Rules{}); err == nil {
			return IDFlexID9, n
		}
	case h.Prefix == "" && h.Type == licfile.HostFlexID && strings.HasPrefix(h.Value, "10-"):
		if n, err := flexIDChecker("10")(h.Value, licfile.Rules{}); err == nil {
			return IDFlexID10, n
		}
	}
	return IDExtended, h.String()
}

// device validates a device being created (or imported), normalising it, and adds
// a violation per fault under prefix ("device." or "devices[3].").
func (c *checks) device(ctx context.Context, v *errs.Violations, prefix string, d *Device) error {
	switch d.Type {
	case "":
		v.Add(prefix+"type", "is required: DEVICE_TYPE_STANDALONE or DEVICE_TYPE_SERVER")
	case TypeServedClient:
		v.Add(prefix+"type", "served clients are recorded from their server's synchronisation, not created")
	case TypeClient, TypeServer:
	default:
		v.Add(prefix+"type", "is DEVICE_TYPE_STANDALONE or DEVICE_TYPE_SERVER")
	}
	if d.Deployment == "" {
		d.Deployment = DeploymentLocal
	}
	cloud := d.Deployment == DeploymentCloud
	if cloud && d.Type != TypeServer {
		v.Add(prefix+"deployment", "only license servers run in the cloud")
	}
	if d.Status == "" {
		d.Status = StatusActive
	} else if d.Status != StatusActive {
		v.Add(prefix+"status", "a new device is ACTIVE")
	}
	v.Require(prefix+"display_name", strings.TrimSpace(d.DisplayName))
	if cloud {
		if d.HostID != "" || (d.IDType != "" && d.IDType != IDString) {
			v.Add(prefix+"host_id", "is generated for cloud license servers")
		}
		if strings.TrimSpace(d.SiteName) == "" {
			v.Add(prefix+"site_name", "is required for cloud license servers")
		}
		// Unguessable: 24 characters of a 31-letter alphabet, about 119 bits.
		d.IDType, d.HostID = IDString, ids.New("CLS", 6)
	} else if err := c.identity(ctx, v, prefix, d); err != nil {
		return err
	}
	checkAttributes(v, prefix+"attributes", d.Attributes)
	if d.BackupServerID != "" {
		if d.Type != TypeServer {
			v.Add(prefix+"backup_server", "only license servers have a backup server")
		} else if err := c.backup(ctx, v, prefix, d.ID, d.AccountID, d.BackupServerID); err != nil {
			return err
		}
	}
	if d.DeviceUser != "" {
		if !authz.Has(c.p, authz.DevicesEditUser) {
			return errs.PermissionDenied(string(authz.DevicesEditUser))
		}
		if err := c.deviceUser(ctx, v, prefix, d.DeviceUser); err != nil {
			return err
		}
	}
	return c.owner(ctx, v, prefix, d.AccountID)
}

// owner checks the owning account: producers may leave a device unowned; everyone
// else creates devices for an account they act for.
func (c *checks) owner(ctx context.Context, v *errs.Violations, prefix, accountID string) error {
	if accountID == "" {
		if !c.p.GetTenantWide() {
			v.Add(prefix+"account", "is required: the account the device belongs to")
		}
		return nil
	}
	if c.withheld == nil {
		var err error
		if c.withheld, err = c.a.withheld(ctx, c.p); err != nil {
			return err
		}
		c.withheld = append(c.withheld, "") // looked up
	}
	// An account hidden from the partner caller does not exist for it, as in the
	// account service (SPEC ACC-3).
	if !authz.CanActFor(c.p, accountID) || slices.Contains(c.withheld, accountID) {
		v.Add(prefix+"account", "account %q does not exist", accountID)
		return nil
	}
	ok, seen := c.accounts[accountID]
	if !seen {
		var err error
		if ok, err = c.a.accounts.AccountExists(ctx, accountID); err != nil {
			return err
		}
		c.accounts[accountID] = ok
	}
	if !ok {
		v.Add(prefix+"account", "account %q does not exist", accountID)
	}
	return nil
}

// backup checks that a backup server is an active server of the same owner that the
// caller sees and that does not back up selfID itself: a backup of another account
// would show each owner the other's device.
func (c *checks) backup(ctx context.Context, v *errs.Violations, prefix, selfID, owner, backupID string) error {
	if backupID == selfID {
		v.Add(prefix+"backup_server", "a server is not its own backup")
		return nil
	}
	verdict, seen := c.backups[backupID+"\x00"+selfID+"\x00"+owner]
	if !seen {
		b, err := c.a.GetDevice(ctx, backupID)
		switch {
		case errs.IsKind(err, errs.KindNotFound):
			verdict = errs.Invalid("", "device %q does not exist", backupID)
		case err != nil:
			return err
		case b.Type != TypeServer:
			verdict = errs.Invalid("", "device %q is not a license server", backupID)
		case b.Status != StatusActive:
			verdict = errs.Invalid("", "server %q is %s; a backup server is active", backupID, b.Status)
		case b.AccountID != owner:
			verdict = errs.Invalid("", "server %q has another owner; a backup server belongs to the same account", backupID)
		case b.BackupServerID == selfID:
			verdict = errs.Invalid("", "server %q has this server as its backup; backups do not go in circles", backupID)
		}
		c.backups[backupID+"\x00"+selfID+"\x00"+owner] = verdict
	}
	if e, ok := errs.As(verdict); ok {
		v.Add(prefix+"backup_server", "%s", e.Violations[0].Description)
	}
	return nil
}

// deviceUser applies the tenant's device user association (SPEC DEV-12).
func (c *checks) deviceUser(ctx context.Context, v *errs.Violations, prefix, user string) error {
	field := prefix + "device_user"
	switch c.settings.DeviceUserMode {
	case UserModeOff:
		v.Add(field, "this tenant does not associate users with devices")
	case UserModeExistingUser:
		if !plausibleEmail(user) {
			v.Add(field, "must be the email address of a user of this tenant")
			return nil
		}
		key := strings.ToLower(user)
		ok, seen := c.users[key]
		if !seen {
			var err error
			if ok, err = c.a.users.UserWithEmail(ctx, user); err != nil {
				return err
			}
			c.users[key] = ok
		}
		if !ok {
			v.Add(field, "no user of this tenant has the email %q", user)
		}
	default:
		if len(user) > 256 || strings.TrimSpace(user) != user {
			v.Add(field, "must be at most 256 characters, without leading or trailing spaces")
		}
	}
	return nil
}

// plausibleEmail is the shape check made before asking the account service; '*'
// would be a wildcard in its filter.
func plausibleEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && len(s) <= 254 && !strings.ContainsAny(s, "*\" \t") && !strings.Contains(domain, "@")
}

func checkAttributes(v *errs.Violations, field string, attrs map[string]string) {
	if len(attrs) > maxAttributes {
		v.Add(field, "at most %d attributes", maxAttributes)
	}
	for k := range attrs {
		if k == "" || len(k) > 128 {
			v.Add(field, "attribute names are 1-128 characters")
			return
		}
	}
}

// CreateDevice validates and stores a standalone device, a local server or a cloud
// server (SPEC DEV-1, DEV-2); a retry with the same request ID returns the first.
func (a *App) CreateDevice(ctx context.Context, d Device) (Device, error) {
	c, err := a.newChecks(ctx)
	if err != nil {
		return Device{}, err
	}
	var v errs.Violations
	d.ID = ids.Resolve(&v, "device_id", c.tenant, "DEV", d.ID, d.RequestID)
	if len(d.RequestID) > 128 {
		v.Add("request_id", "must be at most 128 characters")
	}
	if err := c.device(ctx, &v, "device.", &d); err != nil {
		return Device{}, err
	}
	if err := v.Err(); err != nil {
		return Device{}, err
	}
	out, replayed, err := a.store.CreateDevice(ctx, c.tenant, d)
	if err != nil {
		return Device{}, err
	}
	scope, err := a.scope(ctx)
	if err != nil {
		return Device{}, err
	}
	// A replay answers the first device only to a caller who owns it and asks for
	// the same device: request IDs are the tenant's, and another caller's must
	// neither hand out their device nor stand in for a new one.
	if replayed && (!scope.Owns(out) || !sameCreation(d, out)) {
		return Device{}, errs.Invalid("request_id", "was used before for another request")
	}
	return a.presentOne(ctx, scope, out)
}

// sameCreation reports whether a stored device is what the create request d asked
// for: a replay. A cloud server's host ID is generated anew by each call, so it is
// not compared.
func sameCreation(d, stored Device) bool {
	return d.ID == stored.ID && d.AccountID == stored.AccountID && d.Type == stored.Type && d.Deployment == stored.Deployment &&
		d.IDType == stored.IDType && d.DisplayName == stored.DisplayName && d.SiteName == stored.SiteName &&
		(d.Deployment == DeploymentCloud || d.HostID == stored.HostID)
}

// GetDevice reads a device the caller may see, presented for the caller (SPEC DEV-5).
func (a *App) GetDevice(ctx context.Context, id string) (Device, error) {
	d, s, err := a.visibleDevice(ctx, id)
	if err != nil {
		return Device{}, err
	}
	return a.presentOne(ctx, s, d)
}

// UpdateDevice changes the fields named by paths (UpdatablePaths) to those of
// patch. Only owners and producers change a device; the status goes between ACTIVE
// and OBSOLETE only (returns are ReturnDevice's).
func (a *App) UpdateDevice(ctx context.Context, patch Device, paths []string) (Device, error) {
	var v errs.Violations
	if len(paths) == 0 {
		v.Add("update_mask", "name at least one field: %s", strings.Join(UpdatablePaths, ", "))
	}
	for _, p := range paths {
		if !slices.Contains(UpdatablePaths, p) {
			v.Add("update_mask", "%q cannot be changed (fields: %s)", p, strings.Join(UpdatablePaths, ", "))
		}
	}
	if err := v.Err(); err != nil {
		return Device{}, err
	}
	current, err := a.GetDevice(ctx, patch.ID)
	if err != nil {
		return Device{}, err
	}
	c, err := a.newChecks(ctx)
	if err != nil {
		return Device{}, err
	}
	scope, err := a.scope(ctx)
	if err != nil {
		return Device{}, err
	}
	if current.AccountID != "" && slices.Contains(scope.Withheld, current.AccountID) {
		// Its owner does not exist for the caller: neither does the device as a
		// thing to change (the account service answers NotFound to such changes).
		return Device{}, errs.NotFound("device", patch.ID)
	}
	if !scope.Owns(current) {
		return Device{}, errs.PermissionDenied("device owner")
	}
	if err := a.checkUpdate(ctx, c, &v, current, patch, paths); err != nil {
		return Device{}, err
	}
	if err := v.Err(); err != nil {
		return Device{}, err
	}
	out, err := a.store.UpdateDevice(ctx, c.tenant, patch.ID, func(d *Device) ([]string, error) {
		if !scope.Owns(*d) {
			return nil, errs.PermissionDenied("device owner")
		}
		if err := writable(*d); err != nil {
			return nil, err
		}
		if slices.Contains(paths, "status") && d.Status != patch.Status && d.Status != StatusActive && d.Status != StatusObsolete {
			return nil, errs.FailedPrecondition("DEVICE_STATUS", "device %s is %s", d.ID, d.Status)
		}
		return applyPatch(d, patch, paths), nil
	})
	if err != nil {
		return Device{}, err
	}
	return a.presentOne(ctx, scope, out)
}

// writable refuses changes to returned devices and served clients.
func writable(d Device) error {
	switch {
	case d.Status == StatusReturned:
		return errs.FailedPrecondition("DEVICE_RETURNED", "device %s was returned; it cannot change any more", d.ID)
	case d.Type == TypeServedClient:
		return errs.FailedPrecondition("SERVED_CLIENT_READ_ONLY", "device %s is a served client, recorded from its server", d.ID)
	}
	return nil
}

func (a *App) checkUpdate(ctx context.Context, c *checks, v *errs.Violations, current, patch Device, paths []string) error {
	if err := writable(current); err != nil {
		return err
	}
	for _, p := range paths {
		field := "device." + p
		switch p {
		case "display_name":
			v.Require(field, strings.TrimSpace(patch.DisplayName))
		case "site_name":
			if current.Deployment == DeploymentCloud && strings.TrimSpace(patch.SiteName) == "" {
				v.Add(field, "is required for cloud license servers")
			}
		case "status":
			if patch.Status != StatusActive && patch.Status != StatusObsolete {
				v.Add(field, "changes between DEVICE_STATUS_ACTIVE and DEVICE_STATUS_OBSOLETE only (ReturnDevice returns a device)")
			}
		case "attributes":
			checkAttributes(v, field, patch.Attributes)
		case "backup_server":
			if patch.BackupServerID == "" {
				continue
			}
			if current.Type != TypeServer {
				v.Add(field, "only license servers have a backup server")
			} else if err := c.backup(ctx, v, "device.", current.ID, current.AccountID, patch.BackupServerID); err != nil {
				return err
			}
		case "device_user":
			if !authz.Has(c.p, authz.DevicesEditUser) {
				return errs.PermissionDenied(string(authz.DevicesEditUser))
			}
			if patch.DeviceUser != "" {
				if err := c.deviceUser(ctx, v, "device.", patch.DeviceUser); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// applyPatch copies the named fields and reports those that changed.
func applyPatch(d *Device, patch Device, paths []string) []string {
	var changed []string
	set := func(path string, dst *string, val string) {
		if *dst != val {
			*dst = val
			changed = append(changed, path)
		}
	}
	for _, p := range paths {
		switch p {
		case "display_name":
			set(p, &d.DisplayName, patch.DisplayName)
		case "model":
			set(p, &d.Model, patch.Model)
		case "series":
			set(p, &d.Series, patch.Series)
		case "site_name":
			set(p, &d.SiteName, patch.SiteName)
		case "notes":
			set(p, &d.Notes, patch.Notes)
		case "device_user":
			set(p, &d.DeviceUser, patch.DeviceUser)
		case "backup_server":
			set(p, &d.BackupServerID, patch.BackupServerID)
		case "publisher_identity":
			set(p, &d.PublisherIdentity, patch.PublisherIdentity)
		case "status":
			set(p, &d.Status, patch.Status)
		case "attributes":
			if !mapsEqual(d.Attributes, patch.Attributes) {
				d.Attributes, changed = patch.Attributes, append(changed, p)
			}
		case "virtualization":
			if !virtualizationEqual(d.Virtualization, patch.Virtualization) {
				d.Virtualization, changed = patch.Virtualization, append(changed, p)
			}
		}
	}
	return changed
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func virtualizationEqual(a, b *Virtualization) bool {
	if a == nil || b == nil {
		return (a == nil || *a == Virtualization{}) && (b == nil || *b == Virtualization{})
	}
	return *a == *b
}

// ListDevices lists the devices the caller sees (SPEC DEV-2, DEV-5).
func (a *App) ListDevices(ctx context.Context, q DeviceQuery) ([]Device, string, error) {
	scope, err := a.scope(ctx)
	if err != nil {
		return nil, "", err
	}
	list, next, err := a.store.ListDevices(ctx, authz.MustTenant(ctx), scope, q)
	if err != nil {
		return nil, "", err
	}
	list, err = a.present(ctx, scope, list)
	return list, next, err
}

// CountAccountDevices counts the devices the accounts own.
func (a *App) CountAccountDevices(ctx context.Context, accountIDs []string) (int64, error) {
	return a.store.CountDevices(ctx, authz.MustTenant(ctx), accountIDs)
}

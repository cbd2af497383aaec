// Package store keeps the account service's data in Postgres; writes and their
// outbox events share one transaction.
package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

// Store implements app.Store.
type Store struct{ pool *pgxpool.Pool }

// New returns a store over pool (search path: the account schema).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// CreateTenant stores a tenant with its home account and administrator, and returns
// the tenant's creation time.
func (s *Store) CreateTenant(ctx context.Context, t app.Tenant, home app.Account, admin app.User) (time.Time, error) {
	var created time.Time
	return created, pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO tenants (id, display_name) VALUES ($1, $2) RETURNING created_at`, t.ID, t.DisplayName).Scan(&created); err != nil {
			return err
		}
		if err := insertAccount(ctx, tx, t.ID, home); err != nil {
			return err
		}
		if err := insertUser(ctx, tx, t.ID, admin); err != nil {
			return err
		}
		_, err := events.Write(ctx, tx, events.Subject("account", "tenant", "created"), t.ID, &eventspb.TenantCreated{TenantId: t.ID, DisplayName: t.DisplayName})
		return err
	})
}

func insertAccount(ctx context.Context, tx pgx.Tx, tenant string, a app.Account) error {
	addr, err := json.Marshal(a.Address)
	if err != nil {
		return err
	}
	attrs := a.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	_, err = tx.Exec(ctx, `INSERT INTO accounts (tenant_id, id, display_name, description, account_type, address, visible_to_partners, attributes, request_id, company, emergency_contact_email)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		tenant, a.ID, a.DisplayName, a.Description, a.Type, addr, a.VisibleToPartners, attrs, pg.NullIfEmpty(a.RequestID), a.Company, a.EmergencyContactEmail)
	if err != nil {
		return err
	}
	_, err = events.Write(ctx, tx, events.Subject("account", "account", "created"), tenant, &eventspb.AccountCreated{AccountId: a.ID, DisplayName: a.DisplayName})
	return err
}

// CreateAccount stores an account (under parent, when given, whose sub-accounts must
// all have different names), or returns the one created earlier under the same
// request ID.
func (s *Store) CreateAccount(ctx context.Context, tenant string, a app.Account, parent string) (app.Account, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return createAccount(ctx, tx, tenant, a, parent) })
	if prev, retried, err := s.accountCreateErr(ctx, tenant, a, err); retried || err != nil {
		return prev, err
	}
	return s.GetAccount(ctx, tenant, a.ID)
}

// createAccount inserts an account, linked under parent when given.
func createAccount(ctx context.Context, tx pgx.Tx, tenant string, a app.Account, parent string) error {
	if parent == "" {
		return insertAccount(ctx, tx, tenant, a)
	}
	if err := lockTree(ctx, tx, tenant); err != nil {
		return err
	}
	var taken bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM account_links l JOIN accounts c ON c.tenant_id = l.tenant_id AND c.id = l.child_id
		WHERE l.tenant_id = $1 AND l.parent_id = $2 AND lower(c.display_name) = lower($3))`, tenant, parent, a.DisplayName).Scan(&taken); err != nil {
		return err
	}
	if taken {
		e := errs.AlreadyExists("account named", a.DisplayName)
		e.Reason, e.Message = "NAME_TAKEN", fmt.Sprintf("%s already has a sub-account named %q", parent, a.DisplayName)
		return e
	}
	if err := insertAccount(ctx, tx, tenant, a); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO account_links (tenant_id, parent_id, child_id) VALUES ($1, $2, $3)`, tenant, parent, a.ID); err != nil {
		return err
	}
	_, err := events.Write(ctx, tx, events.Subject("account", "account", "linked"), tenant, &eventspb.AccountLinked{ParentId: parent, ChildId: a.ID})
	return err
}

// accountCreateErr translates the error of creating a: a taken name stays as it is;
// a clash with the account an earlier request with a's request ID made returns that
// account and retried=true; another clash is AlreadyExists.
func (s *Store) accountCreateErr(ctx context.Context, tenant string, a app.Account, err error) (app.Account, bool, error) {
	if !errs.IsKind(err, errs.KindAlreadyExists) {
		return app.Account{}, false, err
	}
	if a.RequestID != "" {
		var id string
		if s.pool.QueryRow(ctx, `SELECT id FROM accounts WHERE tenant_id = $1 AND request_id = $2`, tenant, a.RequestID).Scan(&id) == nil {
			prev, err := s.GetAccount(ctx, tenant, id)
			return prev, err == nil, err
		}
	}
	if e, ok := errs.As(err); ok { // a taken name, or user name
		return app.Account{}, false, e
	}
	return app.Account{}, false, errs.AlreadyExists("account", a.ID)
}

const accountCols = `id, display_name, description, account_type, address, visible_to_partners, attributes, coalesce(request_id, ''), created_at, updated_at, company, emergency_contact_email`

func scanAccount(row pgx.Row) (app.Account, error) {
	var a app.Account
	return a, scanAccountInto(row, &a)
}

// scanAccountInto reads accountCols into a, then any extra columns into extra.
func scanAccountInto(row pgx.Row, a *app.Account, extra ...any) error {
	var addr []byte
	dest := append([]any{&a.ID, &a.DisplayName, &a.Description, &a.Type, &addr, &a.VisibleToPartners, &a.Attributes, &a.RequestID, &a.CreateTime, &a.UpdateTime, &a.Company, &a.EmergencyContactEmail}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	return json.Unmarshal(addr, &a.Address)
}

// GetAccount reads one account.
func (s *Store) GetAccount(ctx context.Context, tenant, id string) (app.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE tenant_id = $1 AND id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, errs.NotFound("account", id)
	}
	return a, err
}

var accountSchema = filter.Schema{
	"account_id":          {Column: "id", Kind: filter.Text},
	"display_name":        {Column: "display_name", Kind: filter.Text},
	"description":         {Column: "description", Kind: filter.Text},
	"type":                {Column: "account_type", Kind: filter.Exact, Values: map[string]string{"PRODUCER": "producer", "CUSTOMER": "customer", "PARTNER": "partner", "SELF_REGISTERED": "self_registered"}},
	"visible_to_partners": {Column: "visible_to_partners", Kind: filter.Bool},
	"create_time":         {Column: "created_at", Kind: filter.Time},
	"update_time":         {Column: "updated_at", Kind: filter.Time},
	"address":             {Column: "address", Kind: filter.Attrs},
	"attributes":          {Column: "attributes", Kind: filter.Attrs},
}

// ListAccounts pages through the accounts matching q; only, when not nil, restricts
// them to those IDs.
func (s *Store) ListAccounts(ctx context.Context, tenant string, only []string, q filter.Query) ([]app.Account, string, error) {
	plan, err := accountSchema.Plan(q, "id", 3)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+accountCols+`, `+plan.SortKey+` AS sort_key FROM accounts
		WHERE tenant_id = $1 AND ($2::text[] IS NULL OR id = ANY($2)) AND `+plan.Where+`
		ORDER BY `+plan.OrderBy+` LIMIT `+strconv.Itoa(plan.Limit), append([]any{tenant, only}, plan.Args...)...)
	if err != nil {
		return nil, "", err
	}
	return filter.CollectPage(plan, rows, func(r pgx.CollectableRow, a *app.Account, key *string) error { return scanAccountInto(r, a, key) },
		func(a app.Account) string { return a.ID })
}

var userSchema = filter.Schema{
	"username":     {Column: "u.username", Kind: filter.Text},
	"first_name":   {Column: "u.first_name", Kind: filter.Text},
	"last_name":    {Column: "u.last_name", Kind: filter.Text},
	"email":        {Column: "u.email", Kind: filter.Text},
	"type":         {Column: "u.user_type", Kind: filter.Exact, Values: map[string]string{"PRODUCER": "producer", "CUSTOMER": "customer", "PARTNER": "partner", "SELF_REGISTERED": "self_registered"}},
	"status":       {Column: "u.status", Kind: filter.Exact, Values: map[string]string{"ACTIVE": "active", "INACTIVE": "inactive"}},
	"shared_login": {Column: "u.shared_login", Kind: filter.Bool},
	"create_time":  {Column: "u.created_at", Kind: filter.Time},
}

// ListUsers pages through the users matching q; accounts, when not nil, keeps the
// users with a membership in one of them.
func (s *Store) ListUsers(ctx context.Context, tenant string, accounts []string, q filter.Query) ([]app.User, string, error) {
	plan, err := userSchema.Plan(q, "u.id", 3)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+`, `+plan.SortKey+` AS sort_key FROM users u
		WHERE u.tenant_id = $1 AND ($2::text[] IS NULL OR EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = u.tenant_id AND m.user_id = u.id AND m.account_id = ANY($2)))
		  AND `+plan.Where+` ORDER BY `+plan.OrderBy+` LIMIT `+strconv.Itoa(plan.Limit), append([]any{tenant, accounts}, plan.Args...)...)
	if err != nil {
		return nil, "", err
	}
	return filter.CollectPage(plan, rows, func(r pgx.CollectableRow, u *app.User, key *string) error { return scanUserInto(r, u, key) },
		func(u app.User) string { return u.ID })
}

func insertUser(ctx context.Context, tx pgx.Tx, tenant string, u app.User) error {
	addr, err := json.Marshal(u.Address)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO users (tenant_id, id, username, first_name, last_name, email, user_type, status, password_hash, request_id, shared_login, must_change_password,
			phone, fax, address, time_zone, locale, marketing_opt_in, expiring_email, can_login, product_lines)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, coalesce($21::text[], '{}'))`,
		tenant, u.ID, u.Username, u.FirstName, u.LastName, u.Email, u.Type, u.Status, u.PasswordHash, pg.NullIfEmpty(u.RequestID), u.SharedLogin, u.MustChangePassword,
		u.Phone, u.Fax, addr, u.TimeZone, u.Locale, u.MarketingOptIn, u.ExpiringEmail, u.CanLogin, u.ProductLines)
	if err != nil {
		return err
	}
	for _, m := range u.Memberships {
		if _, err := tx.Exec(ctx, `INSERT INTO memberships (tenant_id, user_id, account_id, roles) VALUES ($1, $2, $3, $4)`, tenant, u.ID, m.AccountID, m.Roles); err != nil {
			return err
		}
	}
	_, err = events.Write(ctx, tx, events.Subject("account", "user", "created"), tenant, &eventspb.UserCreated{UserId: u.ID, Username: u.Username, Email: u.Email})
	return err
}

// CreateUser stores a user and memberships, or returns the user created earlier
// under the same request ID.
func (s *Store) CreateUser(ctx context.Context, tenant string, u app.User) (app.User, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return insertUser(ctx, tx, tenant, u) })
	if e := errs.FromPostgres(err); e != nil && e.Kind == errs.KindAlreadyExists {
		if u.RequestID != "" {
			if prev, perr := s.GetUser(ctx, tenant, u.ID); perr == nil && prev.RequestID == u.RequestID {
				return prev, nil
			}
		}
		return app.User{}, errs.AlreadyExists("user", u.Username)
	}
	if err != nil {
		return app.User{}, err
	}
	return s.GetUser(ctx, tenant, u.ID)
}

const userCols = `u.id, u.username, u.first_name, u.last_name, u.email, u.user_type, u.status, u.password_hash, coalesce(u.request_id, ''), u.created_at, u.last_login_at,
	u.shared_login, u.failed_logins, u.locked_at, u.must_change_password, u.secret_question, u.secret_answer_hash,
	u.phone, u.fax, u.address, u.time_zone, u.locale, u.marketing_opt_in, u.expiring_email, u.can_login, u.product_lines,
	coalesce((SELECT jsonb_agg(jsonb_build_object('account_id', m.account_id, 'roles', m.roles) ORDER BY m.account_id)
	          FROM memberships m WHERE m.tenant_id = u.tenant_id AND m.user_id = u.id), '[]')`

type membershipJSON struct {
	AccountID string   `json:"account_id"`
	Roles     []string `json:"roles"`
}

func scanUser(row pgx.Row) (app.User, error) {
	var u app.User
	err := scanUserInto(row, &u)
	return u, err
}

// scanUserInto scans userCols (and any extra columns after them) into u.
func scanUserInto(row pgx.Row, u *app.User, extra ...any) error {
	var ms []membershipJSON
	var addr []byte
	dest := append([]any{
		&u.ID, &u.Username, &u.FirstName, &u.LastName, &u.Email, &u.Type, &u.Status, &u.PasswordHash, &u.RequestID, &u.CreateTime, &u.LastLoginTime,
		&u.SharedLogin, &u.FailedLogins, &u.LockedTime, &u.MustChangePassword, &u.SecretQuestion, &u.SecretAnswerHash,
		&u.Phone, &u.Fax, &addr, &u.TimeZone, &u.Locale, &u.MarketingOptIn, &u.ExpiringEmail, &u.CanLogin, &u.ProductLines, &ms,
	}, extra...)
	err := row.Scan(dest...)
	if err == nil {
		err = json.Unmarshal(addr, &u.Address)
	}
	for _, m := range ms {
		u.Memberships = append(u.Memberships, app.Membership{AccountID: m.AccountID, Roles: m.Roles})
	}
	return err
}

// GetUser reads one user with memberships.
func (s *Store) GetUser(ctx context.Context, tenant, id string) (app.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = $1 AND u.id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, errs.NotFound("user", id)
	}
	return u, err
}

// UserByUsername reads a user by login name.
func (s *Store) UserByUsername(ctx context.Context, tenant, username string) (app.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = $1 AND u.username = $2`, tenant, username))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, errs.NotFound("user", username)
	}
	return u, err
}

// CreateToken stores a token (its hash only) and records the login time for sessions.
func (s *Store) CreateToken(ctx context.Context, t app.Token) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO access_tokens (id, tenant_id, user_id, token_hash, kind, created_by, expires_at, name, description, request_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			t.ID, t.TenantID, t.UserID, t.Hash, t.Kind, t.CreatedBy, t.ExpiresAt, t.Name, t.Description, pg.NullIfEmpty(t.RequestID)); err != nil {
			return err
		}
		if t.Kind == app.TokenSession {
			_, err := tx.Exec(ctx, `UPDATE users SET last_login_at = now() WHERE tenant_id = $1 AND id = $2`, t.TenantID, t.UserID)
			return err
		}
		return nil
	})
}

//nolint:gosec // column names, not a credential
const tokenCols = `id, tenant_id, user_id, token_hash, kind, created_by, name, description, coalesce(request_id, ''), expires_at, created_at, updated_at`

func scanToken(row pgx.Row) (app.Token, error) {
	var t app.Token
	err := row.Scan(&t.ID, &t.TenantID, &t.UserID, &t.Hash, &t.Kind, &t.CreatedBy, &t.Name, &t.Description, &t.RequestID, &t.ExpiresAt, &t.CreateTime, &t.UpdateTime)
	return t, err
}

func tokenErr(t app.Token, err error, id string) (app.Token, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		return t, errs.NotFound("access token", id)
	}
	return t, err
}

// TokenByHash finds a token and its user.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (app.Token, app.User, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM access_tokens WHERE token_hash = $1`, hash))
	if t, err = tokenErr(t, err, ""); err != nil {
		return t, app.User{}, err
	}
	u, err := s.GetUser(ctx, t.TenantID, t.UserID)
	return t, u, err
}

// GetToken reads one token.
func (s *Store) GetToken(ctx context.Context, tenant, id string) (app.Token, error) {
	if _, err := uuid.Parse(id); err != nil {
		return app.Token{}, errs.NotFound("access token", id)
	}
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM access_tokens WHERE tenant_id = $1 AND id = $2`, tenant, id))
	return tokenErr(t, err, id)
}

// TokenByRequest finds the token a user made under a request ID.
func (s *Store) TokenByRequest(ctx context.Context, tenant, createdBy, requestID string) (app.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM access_tokens WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3`, tenant, createdBy, requestID))
	return tokenErr(t, err, requestID)
}

// ListTokens pages by ID through the tokens f selects.
func (s *Store) ListTokens(ctx context.Context, tenant string, f app.TokenFilter, after string, limit int) ([]app.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM access_tokens t
		WHERE tenant_id = $1 AND kind = ANY($2) AND id::text > $3
		  AND (($4 = '' AND coalesce(cardinality($5::text[]), 0) = 0)
		       OR created_by = $4 OR (kind = 'normal' AND user_id = $4)
		       OR user_id IN (SELECT m.user_id FROM memberships m WHERE m.tenant_id = $1 AND m.account_id = ANY($5)))
		ORDER BY id LIMIT $6`, tenant, f.Kinds, after, f.Mine, f.Accounts, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Token, error) { return scanToken(r) })
}

// UpdateToken applies fn to a token under its row lock and saves the result.
func (s *Store) UpdateToken(ctx context.Context, tenant, id string, fn func(*app.Token) error) (app.Token, error) {
	var out app.Token
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		t, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenCols+` FROM access_tokens WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, id))
		if t, err = tokenErr(t, err, id); err != nil {
			return err
		}
		oldHash := t.Hash
		if err := fn(&t); err != nil {
			return err
		}
		if !bytes.Equal(oldHash, t.Hash) {
			if _, err := events.Write(ctx, tx, events.Subject("account", "token", "revoked"), tenant, &eventspb.TokenRevoked{TokenId: id, UserId: t.UserID}); err != nil {
				return err
			}
		}
		err = tx.QueryRow(ctx, `UPDATE access_tokens SET name = $3, description = $4, expires_at = $5, token_hash = $6, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 RETURNING updated_at, expires_at`, tenant, id, t.Name, t.Description, t.ExpiresAt, t.Hash).Scan(&t.UpdateTime, &t.ExpiresAt)
		out = t
		return err
	})
	return out, err
}

// DeleteToken removes a token and announces its revocation.
func (s *Store) DeleteToken(ctx context.Context, tenant, id string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var userID string
		err := tx.QueryRow(ctx, `DELETE FROM access_tokens WHERE tenant_id = $1 AND id = $2 RETURNING user_id`, tenant, id).Scan(&userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("access token", id)
		}
		if err != nil {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("account", "token", "revoked"), tenant, &eventspb.TokenRevoked{TokenId: id, UserId: userID})
		return err
	})
}

// RecordFailedLogin counts a wrong password for an active user and locks the user
// out (inactive, every token revoked) when the count reaches lockAfter; shared
// logins are never locked. The count is one atomic update, so concurrent attempts
// cannot slip past the limit.
func (s *Store) RecordFailedLogin(ctx context.Context, tenant, userID string, lockAfter int) (bool, error) {
	locked := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var attempts int
		var shared bool
		err := tx.QueryRow(ctx, `UPDATE users SET failed_logins = failed_logins + 1
			WHERE tenant_id = $1 AND id = $2 AND status = 'active' RETURNING failed_logins, shared_login`, tenant, userID).Scan(&attempts, &shared)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // inactive already: nothing more to count
		}
		if err != nil || lockAfter <= 0 || shared || attempts < lockAfter {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET status = 'inactive', locked_at = now() WHERE tenant_id = $1 AND id = $2`, tenant, userID); err != nil {
			return err
		}
		locked = true
		if _, err := events.Write(ctx, tx, events.Subject("account", "user", "locked"), tenant, &eventspb.UserLocked{UserId: userID, FailedAttempts: int32(attempts)}); err != nil { //nolint:gosec // small count
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("account", "token", "revoked"), tenant, &eventspb.TokenRevoked{UserId: userID})
		return err
	})
	return locked, err
}

// ResetFailedLogins clears the count after a correct password.
func (s *Store) ResetFailedLogins(ctx context.Context, tenant, userID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE users SET failed_logins = 0 WHERE tenant_id = $1 AND id = $2 AND failed_logins > 0`, tenant, userID)
	return err
}

// Reactivate makes a user active again, leaving the password as it is.
func (s *Store) Reactivate(ctx context.Context, tenant, userID, by string) (app.User, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET status = 'active', failed_logins = 0, locked_at = NULL
			WHERE tenant_id = $1 AND id = $2 AND status = 'inactive'`, tenant, userID)
		if err != nil || tag.RowsAffected() == 0 {
			return err // already active: nothing to announce
		}
		_, err = events.Write(ctx, tx, events.Subject("account", "user", "reactivated"), tenant, &eventspb.UserReactivated{UserId: userID, ByUserId: by})
		return err
	})
	if err != nil {
		return app.User{}, err
	}
	return s.GetUser(ctx, tenant, userID)
}

// AdminEmails returns the email addresses of the active administrators of the
// accounts (users holding an admin role in one of them).
func (s *Store) AdminEmails(ctx context.Context, tenant string, accountIDs []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT u.email FROM users u JOIN memberships m ON m.tenant_id = u.tenant_id AND m.user_id = u.id
		WHERE u.tenant_id = $1 AND m.account_id = ANY($2) AND u.status = 'active' AND NOT u.shared_login
		  AND m.roles && ARRAY['producer_admin', 'customer_admin', 'partner_admin']::text[] ORDER BY u.email`, tenant, accountIDs)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// SetPassword stores a new password hash (temporary when mustChange) and clears the
// failed-login count. Cached principals of the user are dropped, so a session that
// was limited to changing its password gets its full rights on the next request.
func (s *Store) SetPassword(ctx context.Context, tenant, userID, hash string, mustChange bool) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $3, must_change_password = $4, failed_logins = 0
			WHERE tenant_id = $1 AND id = $2`, tenant, userID, hash, mustChange)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errs.NotFound("user", userID)
		}
		_, err = events.Write(ctx, tx, events.Subject("account", "token", "revoked"), tenant, &eventspb.TokenRevoked{UserId: userID})
		return err
	})
}

// SetSecret stores the secret question and the hash of its answer.
func (s *Store) SetSecret(ctx context.Context, tenant, userID, question, answerHash string) error {
	_, err := s.pool.Exec(ctx, `UPDATE users SET secret_question = $3, secret_answer_hash = $4 WHERE tenant_id = $1 AND id = $2`, tenant, userID, question, answerHash)
	return err
}

// ListAuditEvents pages through the audit trail.
func (s *Store) ListAuditEvents(ctx context.Context, tenant string, q filter.Query) ([]events.AuditEvent, string, error) {
	return events.ListAudit(ctx, s.pool, tenant, q)
}

// UpdateUser applies fn to a user under its row lock, then saves the profile and
// replaces the memberships, with a user.updated event.
func (s *Store) UpdateUser(ctx context.Context, tenant, id string, fn func(*app.User) error) (app.User, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = $1 AND u.id = $2 FOR UPDATE`, tenant, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("user", id)
		}
		if err != nil {
			return err
		}
		if err := fn(&u); err != nil {
			return err
		}
		addr, err := json.Marshal(u.Address)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET first_name = $3, last_name = $4, email = $5, phone = $6, fax = $7, address = $8, time_zone = $9,
				locale = $10, marketing_opt_in = $11, expiring_email = $12, can_login = $13, shared_login = $14, product_lines = coalesce($15::text[], '{}')
			WHERE tenant_id = $1 AND id = $2`, tenant, id, u.FirstName, u.LastName, u.Email, u.Phone, u.Fax, addr, u.TimeZone,
			u.Locale, u.MarketingOptIn, u.ExpiringEmail, u.CanLogin, u.SharedLogin, u.ProductLines); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2`, tenant, id); err != nil {
			return err
		}
		for _, m := range u.Memberships {
			if _, err := tx.Exec(ctx, `INSERT INTO memberships (tenant_id, user_id, account_id, roles) VALUES ($1, $2, $3, $4)`, tenant, id, m.AccountID, m.Roles); err != nil {
				return err
			}
		}
		if _, err := events.Write(ctx, tx, events.Subject("account", "user", "updated"), tenant, &eventspb.UserUpdated{UserId: id}); err != nil {
			return err
		}
		// Roles and accounts may have changed: gateways must resolve the user afresh.
		_, err = events.Write(ctx, tx, events.Subject("account", "token", "revoked"), tenant, &eventspb.TokenRevoked{UserId: id})
		return err
	})
	if err != nil {
		return app.User{}, err
	}
	return s.GetUser(ctx, tenant, id)
}

// Administrators lists the users holding an admin role in the accounts.
func (s *Store) Administrators(ctx context.Context, tenant string, accounts []string, after *app.Administrator, limit int) ([]app.Administrator, error) {
	var from []any
	if after != nil {
		from = []any{after.AccountID, after.LastName, after.FirstName, after.UserID}
	} else {
		from = []any{nil, nil, nil, nil}
	}
	rows, err := s.pool.Query(ctx, `SELECT u.id, u.first_name, u.last_name, u.email, a.id, a.display_name
		FROM memberships m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id
		JOIN accounts a ON a.tenant_id = m.tenant_id AND a.id = m.account_id
		WHERE m.tenant_id = $1 AND m.account_id = ANY($2) AND u.status = 'active'
		  AND m.roles && ARRAY['producer_admin', 'customer_admin', 'partner_admin']::text[]
		  AND ($3::text IS NULL OR (a.id, u.last_name, u.first_name, u.id) > ($3::text, $4::text, $5::text, $6::text))
		ORDER BY a.id, u.last_name, u.first_name, u.id LIMIT $7`, append(append([]any{tenant, accounts}, from...), limit)...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Administrator, error) {
		var ad app.Administrator
		return ad, r.Scan(&ad.UserID, &ad.FirstName, &ad.LastName, &ad.Email, &ad.AccountID, &ad.AccountName)
	})
}

// UpdateAccount applies fn to an account under its row lock and saves it with an
// account.updated event.
func (s *Store) UpdateAccount(ctx context.Context, tenant, id string, fn func(*app.Account) error) (app.Account, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		a, err := scanAccount(tx.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("account", id)
		}
		if err != nil {
			return err
		}
		if err := fn(&a); err != nil {
			return err
		}
		addr, err := json.Marshal(a.Address)
		if err != nil {
			return err
		}
		if a.Attributes == nil {
			a.Attributes = map[string]string{}
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET display_name = $3, description = $4, address = $5, visible_to_partners = $6, attributes = $7,
			company = $8, emergency_contact_email = $9, updated_at = now()
			WHERE tenant_id = $1 AND id = $2`, tenant, id, a.DisplayName, a.Description, addr, a.VisibleToPartners, a.Attributes, a.Company, a.EmergencyContactEmail); err != nil {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("account", "account", "updated"), tenant, &eventspb.AccountCreated{AccountId: id, DisplayName: a.DisplayName})
		return err
	})
	if err != nil {
		return app.Account{}, err
	}
	return s.GetAccount(ctx, tenant, id)
}

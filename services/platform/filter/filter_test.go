package filter

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/pgtest"
)

func TestParse_PLT2(t *testing.T) {
	got, err := Parse(`name:"acme" AND type = CUSTOMER AND create_time >= "2026-01-01" AND attributes.region = "EMEA*"`)
	require.NoError(t, err)
	require.Equal(t, []Condition{
		{"name", OpContains, "acme"},
		{"type", OpEquals, "CUSTOMER"},
		{"create_time", OpGreaterEq, "2026-01-01"},
		{"attributes.region", OpStartsWith, "EMEA"},
	}, got)
	got, err = Parse(`name = "*Corp"`)
	require.NoError(t, err)
	require.Equal(t, []Condition{{"name", OpEndsWith, "Corp"}}, got)
	got, err = Parse(`name = "say \"hi\""`)
	require.NoError(t, err)
	require.Equal(t, `say "hi"`, got[0].Value)
	none, err := Parse("  ")
	require.NoError(t, err)
	require.Empty(t, none)
	for _, bad := range []string{`name`, `name =`, `= x`, `name = "x" OR id = y`, `name = "x" id = y`, `name ! x`, `"name" = x`, `1abc = x`, `name = "open`, `a=b AND`} {
		_, err := Parse(bad)
		require.ErrorIs(t, err, ErrSyntax, bad)
	}
}

var accounts = Schema{
	"name":        {Column: "name", Kind: Text},
	"type":        {Column: "kind", Kind: Exact, Values: map[string]string{"CUSTOMER": "customer", "PARTNER": "partner"}},
	"create_time": {Column: "created", Kind: Time},
	"visible":     {Column: "visible", Kind: Bool},
	"attributes":  {Column: "attrs", Kind: Attrs},
	"owner":       {Column: "owner", Kind: Exact, Collection: "accounts"},
}

// The filters run against a real table: literal values, case rules, dates.
func TestSQLAgainstPostgres_PLT2(t *testing.T) {
	url := pgtest.NewDatabase(t, pgtest.Template{Name: "empty_v1", Migrate: func(context.Context, string) error { return nil }})
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer func() { _ = conn.Close(context.Background()) }()
	_, err = conn.Exec(t.Context(), `CREATE TABLE a (id int, name text, kind text, created timestamptz, visible bool, attrs jsonb, owner text);
		INSERT INTO a VALUES
		 (1, 'Acme Corp', 'customer', '2026-01-10T10:00:00Z', true, '{"region":"EMEA"}', 'ACME'),
		 (2, '100% Pure_Water', 'partner', '2026-01-11T00:00:00Z', false, '{"region":"APAC"}', 'ACME'),
		 (3, 'acme labs', 'customer', '2026-02-01T00:00:00Z', true, '{}', 'OTHER')`)
	require.NoError(t, err)
	run := func(f string) []int {
		conds, err := Parse(f)
		require.NoError(t, err, f)
		where, args, err := accounts.SQL(conds, 1)
		require.NoError(t, err, f)
		rows, err := conn.Query(t.Context(), `SELECT id FROM a WHERE `+where+` ORDER BY id`, args...)
		require.NoError(t, err, f)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
		require.NoError(t, err)
		return ids
	}
	require.Equal(t, []int{1, 3}, run(`name:"acme"`))
	require.Equal(t, []int{1}, run(`name = "ACME CORP"`))
	require.Equal(t, []int{1, 3}, run(`name = "acme*"`))
	require.Equal(t, []int{1}, run(`name = "*corp"`))
	require.Equal(t, []int{2}, run(`name:"0% P"`), "% is literal")
	require.Equal(t, []int{2}, run(`name:"%"`), "a bare % matches only names holding it")
	require.Equal(t, []int{2}, run(`name:"_"`), "_ is literal")
	require.Equal(t, []int{1, 3}, run(`type = CUSTOMER`))
	require.Equal(t, []int{2}, run(`type != customer`))
	require.Equal(t, []int{1}, run(`create_time = "2026-01-10"`), "on a day")
	require.Equal(t, []int{2, 3}, run(`create_time > "2026-01-10"`), "after a day")
	require.Equal(t, []int{1}, run(`create_time < "2026-01-11"`))
	require.Equal(t, []int{1, 2}, run(`create_time <= "2026-01-11"`))
	require.Equal(t, []int{3}, run(`visible = true AND name:"labs"`))
	require.Equal(t, []int{1}, run(`attributes.region = "emea"`))
	// A reference takes the resource name the API answers with, or the bare ID.
	require.Equal(t, []int{1, 2}, run(`owner = "accounts/ACME"`))
	require.Equal(t, []int{1, 2}, run(`owner = ACME`))
	require.Equal(t, []int{3}, run(`owner != "accounts/ACME"`))
	require.Empty(t, run(`owner = "users/ACME"`), "only the field's own collection")

	// A field no single column holds: an owner or the holder of a share.
	_, err = conn.Exec(t.Context(), `CREATE TABLE shares (a_id int, holder text); INSERT INTO shares VALUES (3, 'ACME')`)
	require.NoError(t, err)
	held := Schema{"account": {Kind: Exact, Collection: "accounts", Match: func(p string) string {
		return `owner = ` + p + ` OR EXISTS (SELECT 1 FROM shares s WHERE s.a_id = a.id AND s.holder = ` + p + `)`
	}}, "type": accounts["type"]}
	runHeld := func(f string) []int {
		conds, err := Parse(f)
		require.NoError(t, err, f)
		where, args, err := held.SQL(conds, 1)
		require.NoError(t, err, f)
		rows, err := conn.Query(t.Context(), `SELECT id FROM a WHERE `+where+` ORDER BY id`, args...)
		require.NoError(t, err, f)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
		require.NoError(t, err)
		return ids
	}
	require.Equal(t, []int{1, 2, 3}, runHeld(`account = "accounts/ACME"`))
	require.Equal(t, []int{3}, runHeld(`account = ACME AND type = CUSTOMER AND account = OTHER`))
	require.Empty(t, runHeld(`account != ACME`))
	require.Equal(t, []int{1, 2}, runHeld(`account != OTHER`))

	for _, bad := range []string{`secret = x`, `type = VENDOR`, `type:"cust"`, `create_time = "yesterday"`, `visible = maybe`, `attributes = x`, `name.sub = x`} {
		conds, err := Parse(bad)
		require.NoError(t, err, bad)
		_, _, err = accounts.SQL(conds, 1)
		require.True(t, errs.IsKind(err, errs.KindInvalid), "%s: %v", bad, err)
	}
}

func FuzzFilter(f *testing.F) {
	for _, s := range []string{`name:"acme"`, `type = CUSTOMER AND create_time > "2026-01-01"`, `attributes.x = "*y"`, `a = "\"`, `x != y AND`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		conds, err := Parse(s)
		if err != nil {
			return
		}
		if len(conds) > MaxConditions {
			t.Fatalf("%d conditions", len(conds))
		}
		where, args, err := accounts.SQL(conds, 1)
		if err != nil {
			return
		}
		for _, c := range conds {
			if len(c.Value) > 2 && strings.Contains(where, c.Value) && !strings.Contains("name kind created visible attrs lower ILIKE ESCAPE AND", c.Value) {
				t.Fatalf("value %q leaked into SQL %q", c.Value, where)
			}
		}
		if strings.Count(where, "$") != len(args) {
			t.Fatalf("%d placeholders for %d args in %q", strings.Count(where, "$"), len(args), where)
		}
	})
}

package checks

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/report"
)

// emission is a finding ID the code emits at a severity, where.
type emission struct {
	id, severity string
	at           token.Position
}

// findingID is what a finding ID literal looks like.
var findingID = regexp.MustCompile(`^(ip|rdns|rbl|spf|dkim|dmarc|mx|tls|dnssec|dane|send|route|format|unsubscribe|arc|received)\.[a-z0-9_]+$`)

// emissions reads the checks' source and returns every finding ID
// literal paired with the severity written beside it: in a
// report.Finding literal (ID: "x.y", Severity: report.Fail), in an
// assignment (f.ID, f.Severity = "x.y", report.Fail), or in a table row
// ({"x.y", report.Fail, ...}). A severity that is a call of a function of
// the package counts as every report.X that function returns. ID
// literals that stand alone (kinds, lookups) are returned with severity
// "".
func emissions(t *testing.T) []emission {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var parsed []*ast.File
	funcs := map[string]*ast.FuncDecl{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				funcs[fd.Name.Name] = fd
			}
		}
	}
	// severities is what an expression for a severity can be.
	var severities func(e ast.Expr) []string
	severities = func(e ast.Expr) []string {
		switch e := e.(type) {
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok && x.Name == "report" {
				return []string{e.Sel.Name}
			}
		case *ast.CallExpr:
			id, ok := e.Fun.(*ast.Ident)
			if !ok || funcs[id.Name] == nil {
				break
			}
			var out []string
			ast.Inspect(funcs[id.Name].Body, func(n ast.Node) bool {
				if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
					out = append(out, severities(r.Results[0])...)
				}
				return true
			})
			return out
		}
		return []string{"?"}
	}
	idOf := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, _ := strconv.Unquote(lit.Value)
		return s, findingID.MatchString(s)
	}
	var out []emission
	paired := map[ast.Expr]bool{}
	add := func(idExpr, sevExpr ast.Expr) {
		id, ok := idOf(idExpr)
		if !ok {
			return
		}
		paired[idExpr] = true
		for _, s := range severities(sevExpr) {
			out = append(out, emission{id, s, fset.Position(idExpr.Pos())})
		}
	}
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				var id, sev ast.Expr
				for i, e := range n.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						switch k, _ := kv.Key.(*ast.Ident); {
						case k == nil:
						case k.Name == "ID":
							id = kv.Value
						case k.Name == "Severity":
							sev = kv.Value
						}
					} else if i == 0 {
						id = e
					} else if i == 1 && id != nil {
						sev = e
					}
				}
				if id != nil && sev != nil {
					add(id, sev)
				}
			case *ast.AssignStmt:
				if len(n.Rhs) == 2 && len(n.Lhs) == 2 {
					add(n.Rhs[0], n.Rhs[1])
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			if e, ok := n.(ast.Expr); ok && !paired[e] {
				if id, ok := idOf(e); ok {
					out = append(out, emission{id, "", fset.Position(e.Pos())})
				}
			}
			return true
		})
	}
	return out
}

// The one rule (DESIGN §8) in the code: a finding is emitted at fail only
// if its kind blocks, and a blocking kind is emitted at fail somewhere.
// Every ID in the code is declared, and every declared ID (but the
// common ones every check has) is in the code. cmd's TestScript holds
// the reports of the real binary to the same rule.
func TestCatalogMatchesTheCode(t *testing.T) {
	cat := Catalog()
	atFail := map[string]bool{}
	inCode := map[string]bool{}
	for _, e := range emissions(t) {
		inCode[e.id] = true
		k, ok := cat.Kind(e.id)
		switch {
		case !ok:
			t.Errorf("%s: %s is not declared in the catalogue", e.at, e.id)
		case e.severity == "?":
			t.Errorf("%s: cannot tell the severity of %s: write it as report.X, or a function of this package that returns them", e.at, e.id)
		case e.severity == "Fail" && !k.Blocks:
			t.Errorf("%s: %s is emitted at fail, but its kind does not block: only a finding that makes a required fact false is a fail", e.at, e.id)
		case e.severity == "Fail":
			atFail[e.id] = true
		}
	}
	for _, id := range cat.IDs() {
		k, _ := cat.Kind(id)
		_, slug, _ := strings.Cut(id, ".")
		switch {
		case slices.Contains(commonKinds, slug):
		case !inCode[id]:
			t.Errorf("%s is declared but the checks never emit it", id)
		case k.Blocks && !atFail[id]:
			t.Errorf("%s blocks but the checks never emit it at fail", id)
		}
	}
	if len(atFail) < 20 {
		t.Errorf("found %d IDs emitted at fail; the source scan is broken?", len(atFail))
	}
}

// Every kind's weights follow the rule: a fail penalty only where the kind
// blocks (NewCatalog refuses the rest), and a blocking kind costs at
// least as much at fail as at warn.
func TestCatalogWeights(t *testing.T) {
	cat := Catalog()
	for _, id := range cat.IDs() {
		k, _ := cat.Kind(id)
		if k.Blocks && k.Penalty.Warn > k.Penalty.Fail {
			t.Errorf("%s costs %d at warn, more than at fail (%d)", id, k.Penalty.Warn, k.Penalty.Fail)
		}
	}
	facts := cat.Facts()
	for _, f := range []report.Fact{report.Public, report.NotDynamic, report.FCrDNS, report.NotListed, report.SPFPass, report.Accepted} {
		if facts[f] == "" {
			t.Errorf("no kind establishes the required fact %s", f)
		}
	}
}

package cmd

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// reportSchema compiles docs/schema.json once.
func reportSchema(t testing.TB) *jsonschema.Schema {
	schemaOnce.Do(func() {
		f, err := os.Open("../docs/schema.json")
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if schemaErr = c.AddResource("schema.json", doc); schemaErr == nil {
			schema, schemaErr = c.Compile("schema.json")
		}
	})
	if schemaErr != nil {
		t.Fatalf("docs/schema.json: %v", schemaErr)
	}
	return schema
}

// validateOutput checks every JSON document in a command's stdout (one,
// or one per line in batch mode) against docs/schema.json. Output that
// is not JSON (text, github) is not checked.
func validateOutput(t testing.TB, what, out string) int {
	t.Helper()
	out = strings.TrimSpace(out)
	if !strings.HasPrefix(out, "{") {
		return 0
	}
	docs := []string{out}
	if !strings.HasPrefix(out, "{\n") { // compact: NDJSON
		docs = strings.Split(out, "\n")
	}
	for _, d := range docs {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(d))
		if err != nil {
			t.Errorf("%s: output is not JSON: %v", what, err)
			continue
		}
		if err := reportSchema(t).Validate(v); err != nil {
			t.Errorf("%s: output does not match docs/schema.json: %v", what, err)
		}
		checkDeclared(t, what, d)
	}
	return len(docs)
}

// captureDir makes a directory for the scripts' outputs and, when every
// script of the test has run, validates the JSON among them.
func captureDir(t *testing.T) string {
	dir := t.TempDir()
	t.Cleanup(func() {
		files, _ := filepath.Glob(filepath.Join(dir, "out-*.txt"))
		n := 0
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Error(err)
				continue
			}
			n += validateOutput(t, "a script's preflight", string(b))
		}
		t.Logf("validated %d JSON reports against docs/schema.json", n)
		// Nothing validated means the capture is broken (or no script
		// writes JSON any more), not that every report is valid. A run
		// of chosen scripts (-run TestScript/name) may have no JSON.
		if n == 0 && !strings.Contains(flag.Lookup("test.run").Value.String(), "/") {
			t.Errorf("validated no JSON report against docs/schema.json: %s captured nothing", captureEnv)
		}
	})
	return dir
}

func TestSchemaRejectsDrift(t *testing.T) {
	good := `{"schema_version":2,"tool":{"name":"preflight","version":"v1"},"command":"ip","target":{},"generated_at":"2026-11-23T00:00:00Z","duration_ms":1,"score":100,"grade":"A","verdict":{"direct_delivery":"unknown","blocking":[]},"checks":[]}`
	v, _ := jsonschema.UnmarshalJSON(strings.NewReader(good))
	if err := reportSchema(t).Validate(v); err != nil {
		t.Fatalf("a minimal report fails: %v", err)
	}
	for _, bad := range []string{
		strings.Replace(good, `"score":100`, `"score":101`, 1),
		strings.Replace(good, `"unknown"`, `"maybe"`, 1),
		strings.Replace(good, `"command":"ip",`, `"command":"ip","Extra":1,`, 1),
		strings.Replace(good, `"checks":[]`, `"checks":[{"id":"ip","status":"ok","duration_ms":0,"dns_queries":0,"findings":[]}]`, 1),
	} {
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if reportSchema(t).Validate(v) == nil {
			t.Errorf("accepted: %s", bad)
		}
	}
}

func TestSchemaFixRecords(t *testing.T) {
	doc := func(rec string) string {
		return `{"schema_version":2,"tool":{"name":"preflight","version":"v1"},"command":"spf","target":{},"generated_at":"2026-11-23T00:00:00Z","duration_ms":1,"score":100,"grade":"A","verdict":{"direct_delivery":"unknown","blocking":[]},` +
			`"checks":[{"id":"spf","status":"warn","duration_ms":0,"dns_queries":0,"findings":[{"id":"spf.no_all","severity":"warn","message":"m","fix_records":[` + rec + `]}]}]}`
	}
	for _, tt := range []struct {
		rec  string
		good bool
	}{
		{`{"action":"replace","name":"example.com","type":"TXT","old":"v=spf1 a","value":"v=spf1 a ~all"}`, true},
		{`{"action":"add","name":"example.com","type":"MX","value":"10 mail.example.com"}`, true},
		{`{"action":"remove","name":"example.com","type":"MX","old":"0 ."}`, true},
		{`{"action":"publish","name":"example.com","type":"TXT","value":"v=spf1 -all"}`, false},
		{`{"action":"add","name":"example.com","type":"SPF","value":"v=spf1 -all"}`, false},
		{`{"action":"replace","name":"example.com","type":"TXT","value":"v=spf1 -all"}`, false},
		{`{"action":"remove","name":"example.com","type":"MX","old":"0 .","value":"10 mail.example.com"}`, false},
		{`{"action":"add","name":"example.com","type":"TXT","value":"v=spf1 -all","ttl":300}`, false},
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc(tt.rec)))
		if err != nil {
			t.Fatal(err)
		}
		if err := reportSchema(t).Validate(v); (err == nil) != tt.good {
			t.Errorf("%s: valid %v, want %v (%v)", tt.rec, err == nil, tt.good, err)
		}
	}
}

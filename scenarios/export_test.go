package scenarios

// SchemaReflector is schemaReflector, for TestSchemaDocsUpToDate.
var SchemaReflector = schemaReflector

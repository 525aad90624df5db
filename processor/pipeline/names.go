package pipeline

// Names that cross process boundaries, defined once: the exit codes, the
// environment the templates give a pod, the WorkflowTemplates' names.

// Exit codes of every fieldflow subcommand. They cross process boundaries:
// Argo's retry expression and metrics, the local engine and a person reading
// `argo get` tell the three outcomes apart by them, so they are defined here
// once and everyone else imports them.
const (
	// ExitOK: processed, or already done; the check or listing answered.
	ExitOK = 0
	// ExitRetry: an error worth retrying (storage unreachable, a cut or
	// stalled read, a write that failed). Retried after a backoff.
	ExitRetry = 1
	// ExitCrash is what Go's runtime exits with on an unrecovered panic. A
	// crash is retried like ExitRetry and counted as an attempt; it is
	// never taken for invalid input.
	ExitCrash = 2
	// ExitPermanent: retrying cannot help. Invalid input (quarantined), a
	// key that is no input, out of range, a file that gave up after its
	// attempts, bad usage. Never retried.
	ExitPermanent = 3
)

// WorkflowEnv names the environment variable holding the Argo workflow a
// pod runs in: the generated templates set it, and processing records it in
// every output's provenance.
const WorkflowEnv = "FIELDFLOW_WORKFLOW"

// ConfigMap is the ConfigMap holding a deployment's pipeline settings (the
// variables Load reads): the generator writes it, the pods take their
// environment from it, and the local engine judges inputs by it.
const ConfigMap = "fieldflow-pipeline"

// KeyParam is the parameter of an asset's WorkflowTemplate holding the
// input's key: the Sensors and release steps set it, the local engine and
// its tests read it back.
const KeyParam = "key"

// ReconcileTemplate is the WorkflowTemplate (and CronWorkflow) that runs
// every input ready now: the local engine submits it by this name.
const ReconcileTemplate = "fieldflow-reconcile"

// TemplateName is the WorkflowTemplate that runs one input of a: the
// sensors, the release steps and `argo submit --from` name it.
func (a *Asset) TemplateName() string { return "fieldflow-" + a.Name }

// Package kustomize holds the generated kustomizations (make generate
// writes the YAML below this folder). The minikube overlay's patch of
// Argo's workflow controller is embedded so that the local engine runs its
// controller with exactly the settings a cluster gets.
package kustomize

import _ "embed"

// ControllerPatch is the strategic merge patch of the release's
// workflow-controller Deployment (deploy.ControllerPatchFile): its
// container's environment, executor plugins on and the latency settings.
//
//go:embed overlays/minikube/argo-workflows/workflow-controller.yaml
var ControllerPatch []byte

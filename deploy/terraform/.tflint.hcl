# tflint configuration for scripts/check-infra.sh: the bundled core "terraform" ruleset (no plugin
# download), recommended preset plus naming and documentation rules.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}

rule "terraform_documented_variables" {
  enabled = true
}

rule "terraform_documented_outputs" {
  enabled = true
}

rule "terraform_naming_convention" {
  enabled = true
}

rule "terraform_standard_module_structure" {
  enabled = false # modules keep resources, variables and outputs in one main.tf each: they are small
}

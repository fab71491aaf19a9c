# Bash completion for hpcnas: the subcommands as `hpcnas --help` lists them, then the options of
# the chosen subcommand as its own --help lists them (so the completion never falls behind).
#   source scripts/hpcnas-completion.bash   (installed: share/bash-completion/completions/hpcnas)
_hpcnas() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    local subcommands
    subcommands=$("${COMP_WORDS[0]}" --help 2>/dev/null | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
    COMPREPLY=($(compgen -W "$subcommands --help --version" -- "$cur"))
    return
  fi
  case "$cur" in
    -*)
      local options
      options=$("${COMP_WORDS[0]}" "${COMP_WORDS[1]}" --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9._-]*' | sort -u)
      COMPREPLY=($(compgen -W "$options" -- "$cur"))
      ;;
    *) COMPREPLY=() ;;
  esac
}
complete -o default -F _hpcnas hpcnas

-- Argo CD health of a Switchboard ContactCenter (argocd-cm:
-- resource.customizations.health.switchboard.io_ContactCenter).
--
-- A status about an older spec says nothing about the current one: Progressing until the
-- operator has observed this generation. Then a problem the operator reports (Degraded) and a
-- model rolled back or aborted are Degraded; a paused rollout is Suspended; a rollout in
-- progress or being promoted is Progressing; otherwise the Ready condition decides.
local health = {}

local function condition(kind)
  if obj.status.conditions == nil then
    return nil
  end
  for _, found in ipairs(obj.status.conditions) do
    if found.type == kind then
      return found
    end
  end
  return nil
end

local function says(found)
  if found.message ~= nil and found.message ~= "" then
    return found.reason .. ": " .. found.message
  end
  return found.reason
end

if obj.status == nil or obj.status.observedGeneration == nil then
  health.status = "Progressing"
  health.message = "Waiting for the operator to report on this ContactCenter"
  return health
end
if obj.status.observedGeneration ~= obj.metadata.generation then
  health.status = "Progressing"
  health.message = "Waiting for the operator to observe generation " .. obj.metadata.generation
  return health
end

local degraded = condition("Degraded")
if degraded ~= nil and degraded.status == "True" then
  health.status = "Degraded"
  health.message = says(degraded)
  return health
end

local rollout = obj.status.rollout
if rollout ~= nil and rollout.phase ~= nil and rollout.phase ~= "Stable" then
  local canary = "model " .. obj.spec.bot.model.version
  if rollout.canary ~= nil then
    canary = "model " .. rollout.canary.version
  end
  local detail = ""
  if rollout.message ~= nil and rollout.message ~= "" then
    detail = ": " .. rollout.message
  end
  local ended = {RolledBack = "rolled back", Aborted = "aborted"}
  if ended[rollout.phase] ~= nil then
    health.status = "Degraded"
    health.message = "Rollout of " .. canary .. " " .. ended[rollout.phase] .. detail
    return health
  end
  if rollout.phase == "Paused" then
    health.status = "Suspended"
    health.message = "Rollout of " .. canary .. " paused at " .. (rollout.weight or 0) .. "%" .. detail
    return health
  end
  if rollout.phase == "Promoting" then
    health.status = "Progressing"
    health.message = "Promoting " .. canary .. detail
    return health
  end
  if rollout.phase == "Progressing" then
    health.status = "Progressing"
    health.message = "Rolling out " .. canary .. ": " .. (rollout.weight or 0) .. "% of new conversations"
    return health
  end
end

local ready = condition("Ready")
if ready == nil then
  health.status = "Progressing"
  health.message = "Waiting for the Ready condition"
elseif ready.status == "True" then
  health.status = "Healthy"
  health.message = says(ready)
else
  health.status = "Progressing"
  health.message = says(ready)
end
return health

using System.Text.Json.Nodes;

namespace OrleansSim.Core.Lora;

/// <summary>
/// One LoRA adapter as vLLM's <c>--lora-modules</c> describes it (LoRAModulePath): its name (what
/// requests use as <c>model</c>), its path (shown as <c>root</c> in /v1/models) and, optionally, the
/// base model it belongs to.
/// </summary>
public sealed record LoraModule(string Name, string Path, string? BaseModelName = null)
{
    /// <summary>From the flag's JSON form (<c>{"name","path","base_model_name"}</c>; <c>name=path</c> arrives as the same object).</summary>
    public static LoraModule FromJson(JsonObject json) =>
        new(Text(json, "name") ?? "", Text(json, "path") ?? "", Text(json, "base_model_name"));

    public JsonObject ToJson()
    {
        var json = new JsonObject { ["name"] = Name, ["path"] = Path };
        if (BaseModelName is not null)
        {
            json["base_model_name"] = BaseModelName;
        }

        return json;
    }

    private static string? Text(JsonObject json, string key) =>
        json[key] is JsonValue value && value.GetValueKind() == System.Text.Json.JsonValueKind.String ? value.GetValue<string>() : null;
}

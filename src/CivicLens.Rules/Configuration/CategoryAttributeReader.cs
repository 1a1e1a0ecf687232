using CivicLens.District.Categories;

namespace CivicLens.Rules.Configuration;

/// <summary>
/// Reads a category's <c>attributes</c> (Open311 service definition attributes): each definition is checked by
/// <see cref="CategoryAttributes"/> and every problem is reported at its place in the file, so a malformed
/// attribute stops the load instead of surfacing as a confusing 400 to a 311 client later.
/// </summary>
internal static class CategoryAttributeReader
{
    public static IReadOnlyList<AttributeDefinition> Read(YamlMap category)
    {
        var list = new List<AttributeDefinition>();
        foreach (var m in category.Maps("attributes"))
        {
            var code = m.String("code", required: true);
            var datatype = m.String("datatype", required: true);
            var description = m.String("description", required: true);
            var values = new List<AttributeValue>();
            foreach (var v in m.Maps("values"))
            {
                var key = v.String("key", required: true);
                var name = v.String("name", required: true);
                v.Finish();
                if (key is not null && name is not null) values.Add(new AttributeValue(key, name));
            }

            var a = new AttributeDefinition(code ?? "", datatype ?? "", description ?? "")
            {
                Variable = m.Bool("variable") ?? true,
                Required = m.Bool("required") ?? false,
                DatatypeDescription = m.String("datatype_description"),
                Order = m.Int("order", 1, 1000) ?? list.Count + 1,
                Values = values,
            };
            m.Finish();
            if (code is null || datatype is null || description is null) continue;
            var problems = CategoryAttributes.Problems(a);
            foreach (var (field, message) in problems) m.Error(m.Get(field) ?? m.Node, field, message);
            if (problems.Count == 0) list.Add(a);
        }

        foreach (var problem in CategoryAttributes.ListProblems(list)) category.Error(category.Get("attributes")!, "attributes", problem);
        return list;
    }
}

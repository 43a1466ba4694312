namespace Countersign.App;

public partial class App : System.Windows.Application
{
}

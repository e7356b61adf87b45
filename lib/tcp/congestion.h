#pragma once

namespace synwave::tcp {}  // written by the congestion work
